-- How many stored transactions a backtest replays: worth splitting across processes or not.
SELECT count(*) AS n
FROM transactions
WHERE %(syndicate_ids)s::text[] IS NULL OR syndicate_id = ANY(%(syndicate_ids)s::text[])
