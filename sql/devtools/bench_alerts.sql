-- Benchmark alerts straight into the real table: one in ten a spike, the rest large transactions
-- of stored rows; a third acknowledged, a third resolved, spread over the rows' time span.
INSERT INTO alerts (alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio,
                    window_start, window_end, event_time, detected_at, details, published_at,
                    status, acknowledged_by, acknowledged_at, resolved_by, resolved_at)
SELECT md5('bench-alert-' || g)::uuid,
       CASE WHEN g %% 10 = 0 THEN 'spike' ELSE 'large_transaction' END,
       t.syndicate_id,
       t.transaction_id,
       CASE WHEN g %% 10 = 0 THEN 42 ELSE t.transaction_amount END,
       CASE WHEN g %% 10 = 0 THEN 20.00 ELSE 10000.00 END,
       CASE WHEN g %% 10 = 0 THEN 21.0 END,
       t.transaction_date - interval '5 minutes',
       t.transaction_date,
       t.transaction_date,
       t.transaction_date + interval '1 second',
       CASE WHEN g %% 10 = 0
            THEN '{"baseline_per_5min": "2.00", "multiplier": "10", "current_count": 42}'::jsonb
            ELSE '{"currency": "USD"}'::jsonb END,
       t.transaction_date + interval '2 seconds',
       CASE g %% 3 WHEN 0 THEN 'open' WHEN 1 THEN 'acknowledged' ELSE 'resolved' END,
       CASE WHEN g %% 3 > 0 THEN 'bench' END,
       CASE WHEN g %% 3 > 0 THEN t.transaction_date + interval '1 minute' END,
       CASE WHEN g %% 3 = 2 THEN 'bench' END,
       CASE WHEN g %% 3 = 2 THEN t.transaction_date + interval '2 minutes' END
FROM generate_series(1, %(alerts)s::int) AS g
JOIN transactions t ON t.transaction_id = 'bench-' || (g * %(step)s::int)
