SELECT pool_id FROM pools
