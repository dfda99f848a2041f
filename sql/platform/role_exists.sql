SELECT 1 AS found FROM pg_roles WHERE rolname = %(role)s
