-- Benchmark data straight into the real tables: a skewed investor (power law), a uniform syndicate,
-- an amount to the cent (log-normal around 1,000.00, as the generator's: about 1 in 1,000 above the
-- default 10,000.00 threshold), one every %(spacing)s seconds from 2026-01-01 (at one a second, 10M
-- rows span four months). Rows count exactly as ingested ones do, keys included; the aggregates
-- follow from them.
WITH rows AS (
    INSERT INTO transactions (transaction_id, investor_id, syndicate_id, transaction_amount,
                              transaction_date, currency, source_partition, source_offset)
    SELECT 'bench-' || g,
           'inv-' || lpad(floor(%(investors)s * power(random(), 3))::int::text, 7, '0'),
           'syn-' || lpad(floor(random() * %(syndicates)s)::int::text, 5, '0'),
           greatest(1.00, round(exp(ln(1000) + 0.75 * sqrt(-2 * ln(1 - random()))
                                    * cos(2 * pi() * random()))::numeric, 2)),
           timestamptz '2026-01-01 00:00:00+00' + g * make_interval(secs => %(spacing)s),
           'USD',
           0,
           g
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
    RETURNING transaction_id, investor_id, syndicate_id, transaction_amount, transaction_date,
              currency, source_partition, source_offset
)
INSERT INTO transaction_keys
SELECT transaction_id, transaction_date,
       transaction_fingerprint(investor_id, syndicate_id, transaction_amount, transaction_date,
                               currency),
       source_partition, source_offset
FROM rows
