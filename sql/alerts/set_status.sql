-- An alert moves forward (models.alert_status.decide); either way, nothing more escalates.
UPDATE alerts SET
    status = %(status)s,
    acknowledged_by = CASE WHEN %(status)s = 'acknowledged' THEN %(actor)s ELSE acknowledged_by END,
    acknowledged_at = CASE WHEN %(status)s = 'acknowledged' THEN clock_timestamp()
                           ELSE acknowledged_at END,
    resolved_by = CASE WHEN %(status)s = 'resolved' THEN %(actor)s ELSE resolved_by END,
    resolved_at = CASE WHEN %(status)s = 'resolved' THEN clock_timestamp() ELSE resolved_at END,
    escalate_at = NULL
WHERE alert_id = %(alert_id)s
