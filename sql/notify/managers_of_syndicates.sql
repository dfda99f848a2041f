-- Who hears about each syndicate's alerts at one escalation level, and how.
SELECT sm.syndicate_id, m.manager_id, m.channels
FROM syndicate_managers sm JOIN fund_managers m USING (manager_id)
WHERE sm.syndicate_id = ANY(%(syndicate_ids)s) AND sm.level = %(level)s
