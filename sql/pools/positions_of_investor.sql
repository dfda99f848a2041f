SELECT pool_id, investor_id, committed, called, contributed, distributed
FROM pool_positions WHERE investor_id = %(investor_id)s
ORDER BY pool_id
