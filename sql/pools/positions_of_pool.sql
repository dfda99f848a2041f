SELECT pool_id, investor_id, committed, called, contributed, distributed
FROM pool_positions WHERE pool_id = %(pool_id)s
ORDER BY investor_id
