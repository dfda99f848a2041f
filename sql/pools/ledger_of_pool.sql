SELECT seq, line, account, amount FROM ledger_entries WHERE pool_id = %(pool_id)s
