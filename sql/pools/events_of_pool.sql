SELECT seq, type, payload FROM pool_events WHERE pool_id = %(pool_id)s ORDER BY seq
