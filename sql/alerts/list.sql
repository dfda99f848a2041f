-- `pulse alerts list` and GET /alerts: oldest event first, each filter optional; a fund manager
-- (manager_id) sees only the alerts of the syndicates assigned to them.
SELECT alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio, window_start,
       window_end, event_time, detected_at, details, status, acknowledged_by, acknowledged_at,
       resolved_by, resolved_at, escalation_level
FROM alerts
WHERE (%(syndicate_id)s::text IS NULL OR syndicate_id = %(syndicate_id)s)
  AND (%(kind)s::text IS NULL OR kind = %(kind)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(since)s::timestamptz IS NULL OR event_time >= %(since)s)
  AND (%(manager_id)s::text IS NULL OR syndicate_id IN (
        SELECT syndicate_id FROM syndicate_managers WHERE manager_id::text = %(manager_id)s))
ORDER BY event_time, alert_id
LIMIT %(limit)s
