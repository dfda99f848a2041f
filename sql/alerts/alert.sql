-- One alert, if the caller may see it (manager_id NULL: everyone's); FOR UPDATE when acting on it.
SELECT alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio, window_start,
       window_end, event_time, detected_at, details, status, acknowledged_by, acknowledged_at,
       resolved_by, resolved_at, escalation_level
FROM alerts
WHERE alert_id = %(alert_id)s
  AND (%(manager_id)s::text IS NULL OR syndicate_id IN (
        SELECT syndicate_id FROM syndicate_managers WHERE manager_id::text = %(manager_id)s))
