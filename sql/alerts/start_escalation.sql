-- The first deadline of newly routed alerts: detected_at plus the syndicate's escalate_after, when
-- escalation is on and someone above level 1 runs the syndicate. Only an open alert at level 1
-- without a deadline gets one, so a redelivered alert never restarts a clock.
UPDATE alerts AS a
SET escalate_at = a.detected_at + make_interval(secs => e.after)
FROM (
    SELECT x.alert_id, coalesce(s.escalate_after, %(default_after)s) AS after
    FROM alerts x LEFT JOIN syndicates s USING (syndicate_id)
    WHERE x.alert_id = ANY(%(alert_ids)s::uuid[])
) AS e
WHERE a.alert_id = e.alert_id
  AND e.after > 0
  AND a.status = 'open' AND a.escalation_level = 1 AND a.escalate_at IS NULL
  AND EXISTS (SELECT 1 FROM syndicate_managers sm
              WHERE sm.syndicate_id = a.syndicate_id AND sm.level > 1)
