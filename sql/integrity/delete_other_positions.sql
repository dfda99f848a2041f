-- A pool's positions of investors its events never named.
DELETE FROM pool_positions
WHERE pool_id = %(pool_id)s AND NOT (investor_id = ANY(%(investor_ids)s))
