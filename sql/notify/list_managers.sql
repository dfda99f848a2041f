SELECT m.manager_id AS id, m.name, m.phone, m.email, m.channels,
       coalesce(array_agg(sm.syndicate_id ORDER BY sm.syndicate_id)
                FILTER (WHERE sm.syndicate_id IS NOT NULL), '{}') AS syndicates,
       coalesce(jsonb_object_agg(sm.syndicate_id, sm.level)
                FILTER (WHERE sm.syndicate_id IS NOT NULL), '{}') AS levels
FROM fund_managers m LEFT JOIN syndicate_managers sm USING (manager_id)
GROUP BY m.manager_id
ORDER BY m.created_at, m.manager_id
