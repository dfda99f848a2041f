-- Alerts nobody published for longer than the relay needs (and not set aside as unpublishable).
SELECT alert_id, kind, syndicate_id, transaction_id, detected_at
FROM alerts
WHERE published_at IS NULL AND publish_error IS NULL
  AND detected_at < clock_timestamp() - make_interval(secs => %(older_than)s)
ORDER BY detected_at
