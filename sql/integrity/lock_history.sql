-- A rebuild of the aggregates waits for the batches being written and holds new ones back (the
-- sink's inserts need ROW EXCLUSIVE, which SHARE refuses) until it commits: the history it reads
-- and the aggregates it writes are then of the same moment.
LOCK TABLE transactions, transaction_keys, transaction_archive_totals IN SHARE MODE
