-- One pool's projection row: what the API shows and what a command is decided against.
SELECT pool_id, name, currency, target_size, hard_cap, manager_ids, status,
       committed, called, contributed, distributed, seq
FROM pools WHERE pool_id = %(pool_id)s
