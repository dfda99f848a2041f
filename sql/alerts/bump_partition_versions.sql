INSERT INTO partition_state (topic, partition, version)
SELECT %(topic)s, p, 1 FROM unnest(%(partitions)s::integer[]) AS p
ON CONFLICT (topic, partition) DO UPDATE SET version = partition_state.version + 1
RETURNING partition, version
