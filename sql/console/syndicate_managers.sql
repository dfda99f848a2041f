SELECT manager_id::text AS manager_id, level FROM syndicate_managers
WHERE syndicate_id = %(syndicate_id)s ORDER BY level, manager_id
