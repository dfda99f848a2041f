-- Each partition the batch wrote: its version moves, and the newest source offset applied to the
-- spike windows is kept beside it (the table keeps its own; the two are compared on first sight).
INSERT INTO partition_state (topic, partition, version, applied_offset)
SELECT %(topic)s, p, 1, o FROM unnest(%(partitions)s::integer[], %(offsets)s::bigint[]) AS u(p, o)
ON CONFLICT (topic, partition) DO UPDATE
    SET version = partition_state.version + 1,
        applied_offset = greatest(partition_state.applied_offset, excluded.applied_offset)
RETURNING partition, version
