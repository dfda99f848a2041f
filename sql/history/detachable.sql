-- The monthly partitions wholly before %(before)s (a UTC month), oldest first.
SELECT c.relname AS partition,
       to_date(substr(c.relname, 15, 4) || substr(c.relname, 20, 2), 'YYYYMM') AS month
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'transactions'::regclass
  AND c.relname ~ '^transactions_y[0-9]{4}m[0-9]{2}$'
  AND to_date(substr(c.relname, 15, 4) || substr(c.relname, 20, 2), 'YYYYMM') < %(before)s::date
ORDER BY month
