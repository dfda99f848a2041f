-- The syndicates a fund manager runs (manager_id), or every known one (admins).
SELECT DISTINCT syndicate_id FROM (
    SELECT syndicate_id FROM syndicate_managers
    WHERE %(manager_id)s::text IS NULL OR manager_id::text = %(manager_id)s
    UNION ALL
    SELECT syndicate_id FROM syndicates WHERE %(manager_id)s::text IS NULL
) known ORDER BY syndicate_id LIMIT 500
