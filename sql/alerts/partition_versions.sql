-- Each source partition's version (moved by every batch that wrote it, by whichever worker) and
-- the newest source offset applied to its spike windows.
SELECT partition, version, applied_offset
FROM partition_state WHERE topic = %(topic)s AND partition = ANY(%(partitions)s)
