-- Each source partition's version (moved by every batch that wrote it, by whichever worker), the
-- newest source offset applied to its spike windows, and the generation of those windows (moved by
-- pulse rebuild --what windows: table records of an older one are dead).
SELECT partition, version, applied_offset, windows_generation
FROM partition_state WHERE topic = %(topic)s AND partition = ANY(%(partitions)s)
