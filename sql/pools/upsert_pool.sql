INSERT INTO pools (pool_id, name, currency, target_size, hard_cap, manager_ids, status, seq,
                   committed, called, contributed, distributed)
VALUES (%(pool_id)s, %(name)s, %(currency)s, %(target_size)s, %(hard_cap)s, %(manager_ids)s,
        %(status)s, %(seq)s, %(committed)s, %(called)s, %(contributed)s, %(distributed)s)
ON CONFLICT (pool_id) DO UPDATE SET
    status = excluded.status, seq = excluded.seq, committed = excluded.committed,
    called = excluded.called, contributed = excluded.contributed,
    distributed = excluded.distributed, updated_at = now()
