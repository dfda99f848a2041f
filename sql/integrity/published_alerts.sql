-- Alerts stored as published: each must be on topic alerts.
SELECT alert_id, kind, syndicate_id, transaction_id FROM alerts WHERE published_at IS NOT NULL
