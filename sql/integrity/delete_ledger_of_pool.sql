-- A pool's ledger, written again from its events by pulse rebuild (the events are the truth).
DELETE FROM ledger_entries WHERE pool_id = %(pool_id)s
