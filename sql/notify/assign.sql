INSERT INTO syndicate_managers (syndicate_id, manager_id)
VALUES (%(syndicate_id)s, %(manager_id)s)
ON CONFLICT DO NOTHING
