-- Transactions per minute of one syndicate over the 70 minutes up to an alert's event.
SELECT floor(extract(epoch FROM (%(end)s::timestamptz - transaction_date)) / 60)::int AS minutes_before,
       count(*) AS n
FROM transactions
WHERE syndicate_id = %(syndicate_id)s
  AND transaction_date > %(end)s::timestamptz - interval '70 minutes'
  AND transaction_date <= %(end)s::timestamptz
GROUP BY 1
