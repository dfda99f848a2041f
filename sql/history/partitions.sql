-- The partitions of transactions, oldest month first (the default last): bounds and size on disk.
SELECT c.relname AS partition,
       pg_get_expr(c.relpartbound, c.oid) AS bounds,
       c.relname = 'transactions_default' AS is_default,
       pg_total_relation_size(c.oid) AS bytes,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS size
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'transactions'::regclass
ORDER BY c.relname = 'transactions_default', c.relname
