-- The alerts whose id starts with an SMS code, among the syndicates these managers run.
SELECT a.alert_id, sm.manager_id
FROM alerts a JOIN syndicate_managers sm USING (syndicate_id)
WHERE a.alert_id BETWEEN %(lowest)s::uuid AND %(highest)s::uuid
  AND sm.manager_id = ANY(%(manager_ids)s::uuid[])
ORDER BY a.alert_id, sm.level, sm.manager_id
