-- The alert to act on, locked until the transition is stored: two managers acting at once are
-- decided one after the other.
SELECT alert_id, status
FROM alerts
WHERE alert_id = %(alert_id)s
  AND (%(manager_id)s::text IS NULL OR syndicate_id IN (
        SELECT syndicate_id FROM syndicate_managers WHERE manager_id::text = %(manager_id)s))
FOR UPDATE
