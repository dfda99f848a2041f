-- Months detached from transactions, for archiving: their sums still count in the aggregates.
SELECT partition_name, month, row_count, detached_at
FROM transaction_archives
ORDER BY month
