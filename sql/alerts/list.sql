-- `pulse alerts list`: oldest event first, each filter optional.
SELECT alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio, window_start,
       window_end, event_time, detected_at, details
FROM alerts
WHERE (%(syndicate_id)s::text IS NULL OR syndicate_id = %(syndicate_id)s)
  AND (%(kind)s::text IS NULL OR kind = %(kind)s)
  AND (%(since)s::timestamptz IS NULL OR event_time >= %(since)s)
ORDER BY event_time, alert_id
LIMIT %(limit)s
