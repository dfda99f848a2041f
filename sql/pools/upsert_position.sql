INSERT INTO pool_positions (pool_id, investor_id, committed, called, contributed, distributed)
VALUES (%(pool_id)s, %(investor_id)s, %(committed)s, %(called)s, %(contributed)s, %(distributed)s)
ON CONFLICT (pool_id, investor_id) DO UPDATE SET
    committed = excluded.committed, called = excluded.called,
    contributed = excluded.contributed, distributed = excluded.distributed
