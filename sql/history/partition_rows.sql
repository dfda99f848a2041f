-- The exact row count of one partition ({partition}, composed by the caller): an operator's
-- command, not a hot path.
SELECT count(*) AS row_count FROM {partition}
