-- The console's list: newest first, each filter optional; a fund manager (manager_id) sees only the
-- alerts of the syndicates assigned to them. ``changed_since`` narrows it to alerts raised or acted
-- on since then (the live list); ``as_of`` is the moment to ask from next time.
SELECT a.alert_id, a.kind, a.syndicate_id, s.name AS syndicate_name, a.transaction_id, a.observed,
       a.expected, a.ratio, a.window_start, a.window_end, a.event_time, a.detected_at, a.details,
       a.status, a.acknowledged_by, a.acknowledged_at, a.resolved_by, a.resolved_at,
       a.escalation_level,
       (SELECT t.via FROM alert_transitions t WHERE t.alert_id = a.alert_id
        ORDER BY t.at DESC LIMIT 1) AS last_via,
       (SELECT t.note FROM alert_transitions t WHERE t.alert_id = a.alert_id
        ORDER BY t.at DESC LIMIT 1) AS last_note,
       now() AS as_of
FROM alerts a LEFT JOIN syndicates s USING (syndicate_id)
WHERE (%(syndicate_id)s::text IS NULL OR a.syndicate_id = %(syndicate_id)s)
  AND (%(status)s::text IS NULL OR a.status = %(status)s)
  AND (%(manager_id)s::text IS NULL OR a.syndicate_id IN (
        SELECT syndicate_id FROM syndicate_managers WHERE manager_id::text = %(manager_id)s))
  AND (%(changed_since)s::timestamptz IS NULL OR a.detected_at > %(changed_since)s
       OR a.alert_id IN (SELECT alert_id FROM alert_transitions WHERE at > %(changed_since)s))
ORDER BY a.detected_at DESC, a.alert_id
LIMIT %(limit)s
