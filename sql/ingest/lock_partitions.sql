-- Serialises a zombie and the new owner of a partition during a rebalance.
SELECT pg_advisory_xact_lock(hashtext('pulse.transactions'), p)
FROM unnest(%(partitions)s::integer[]) AS p ORDER BY p
