-- The managers above a level, for the syndicates of escalating alerts.
SELECT sm.syndicate_id, sm.level, m.manager_id, m.channels
FROM syndicate_managers sm JOIN fund_managers m USING (manager_id)
WHERE sm.syndicate_id = ANY(%(syndicate_ids)s) AND sm.level > 1
ORDER BY sm.level
