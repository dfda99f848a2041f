-- Benchmark data straight into the real table: a skewed investor (power law), a uniform syndicate,
-- an amount to the cent (log-normal around 1,000.00, as the generator's: about 1 in 1,000 above the
-- default 10,000.00 threshold). Rows count exactly as ingested ones do; the aggregates follow from them.
INSERT INTO transactions (transaction_id, investor_id, syndicate_id, transaction_amount,
                          transaction_date, currency, source_partition, source_offset)
SELECT 'bench-' || g,
       'inv-' || lpad(floor(%(investors)s * power(random(), 3))::int::text, 7, '0'),
       'syn-' || lpad(floor(random() * %(syndicates)s)::int::text, 5, '0'),
       greatest(1.00, round(exp(ln(1000) + 0.75 * sqrt(-2 * ln(1 - random()))
                                * cos(2 * pi() * random()))::numeric, 2)),
       timestamptz '2026-01-01 00:00:00+00' + g * interval '10 milliseconds',
       'USD',
       0,
       g
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
