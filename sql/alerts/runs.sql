SELECT 1 AS runs FROM syndicate_managers
WHERE manager_id::text = %(manager_id)s AND syndicate_id = %(syndicate_id)s
