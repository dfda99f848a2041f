-- What one batch of pool commands did, in one statement and one round trip: the events, their
-- outbox rows and ledger lines, the projections of the pools and positions the batch changed, and
-- every command's outcome. Each parameter is an array with an element per row. Foreign keys are
-- checked at the end of the statement, so a pool created in this batch takes its positions here.
WITH events AS (
    INSERT INTO pool_events (pool_id, seq, event_id, idempotency_key, type, payload)
    SELECT e.pool_id, e.seq, e.event_id, e.idempotency_key, e.type, e.payload::jsonb
    FROM unnest(%(event_pool_ids)b::text[], %(event_seqs)b::integer[], %(event_ids)b::uuid[],
                %(event_keys)b::text[], %(event_types)b::text[], %(event_payloads)b::text[])
         AS e(pool_id, seq, event_id, idempotency_key, type, payload)
),
unpublished AS (
    INSERT INTO pool_events_unpublished (pool_id, seq)
    SELECT * FROM unnest(%(event_pool_ids)b::text[], %(event_seqs)b::integer[])
),
ledger AS (
    INSERT INTO ledger_entries (pool_id, seq, line, account, amount, currency)
    SELECT * FROM unnest(%(line_pool_ids)b::text[], %(line_seqs)b::integer[],
                         %(line_numbers)b::integer[], %(line_accounts)b::text[],
                         %(line_amounts)b::numeric[], %(line_currencies)b::text[])
),
projected_pools AS (
    INSERT INTO pools (pool_id, name, currency, target_size, hard_cap, manager_ids, status, seq,
                       committed, called, contributed, distributed)
    SELECT p.pool_id, p.name, p.currency, p.target_size, p.hard_cap,
           ARRAY(SELECT jsonb_array_elements_text(p.manager_ids::jsonb)), p.status, p.seq,
           p.committed, p.called, p.contributed, p.distributed
    FROM unnest(%(pool_ids)b::text[], %(pool_names)b::text[], %(pool_currencies)b::text[],
                %(pool_target_sizes)b::numeric[], %(pool_hard_caps)b::numeric[],
                %(pool_manager_ids)b::text[], %(pool_statuses)b::text[], %(pool_seqs)b::integer[],
                %(pool_committed)b::numeric[], %(pool_called)b::numeric[],
                %(pool_contributed)b::numeric[], %(pool_distributed)b::numeric[])
         AS p(pool_id, name, currency, target_size, hard_cap, manager_ids, status, seq,
              committed, called, contributed, distributed)
    ON CONFLICT (pool_id) DO UPDATE SET
        status = excluded.status, seq = excluded.seq, committed = excluded.committed,
        called = excluded.called, contributed = excluded.contributed,
        distributed = excluded.distributed, updated_at = now()
),
projected_positions AS (
    INSERT INTO pool_positions (pool_id, investor_id, committed, called, contributed, distributed)
    SELECT * FROM unnest(%(position_pool_ids)b::text[], %(position_investor_ids)b::text[],
                         %(position_committed)b::numeric[], %(position_called)b::numeric[],
                         %(position_contributed)b::numeric[], %(position_distributed)b::numeric[])
    ON CONFLICT (pool_id, investor_id) DO UPDATE SET
        committed = excluded.committed, called = excluded.called,
        contributed = excluded.contributed, distributed = excluded.distributed
)
-- The API's idempotency records: the answer every retry with the same key gets.
INSERT INTO pool_commands (idempotency_key, request_hash, pool_id, status_code, response)
SELECT o.idempotency_key, o.request_hash, o.pool_id, o.status_code, o.response::jsonb
FROM unnest(%(outcome_keys)b::text[], %(outcome_hashes)b::text[], %(outcome_pool_ids)b::text[],
            %(outcome_status_codes)b::integer[], %(outcome_responses)b::text[])
     AS o(idempotency_key, request_hash, pool_id, status_code, response)
ON CONFLICT (idempotency_key) DO NOTHING
