-- A manager runs a syndicate at an escalation level; assigning again sets the level.
INSERT INTO syndicate_managers (syndicate_id, manager_id, level)
VALUES (%(syndicate_id)s, %(manager_id)s, %(level)s)
ON CONFLICT (syndicate_id, manager_id) DO UPDATE SET level = excluded.level
