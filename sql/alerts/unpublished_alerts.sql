-- Stored alerts nobody published (their worker crashed between the commit and the send).
SELECT alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio, event_time,
       window_start, window_end, details, detected_at
FROM alerts
WHERE published_at IS NULL AND publish_error IS NULL
  AND detected_at < clock_timestamp() - make_interval(secs => %(relay_after)s)
ORDER BY detected_at
LIMIT %(limit)s
