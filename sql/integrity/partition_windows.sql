-- Each source partition's spike-window state as the database keeps it: the newest source offset
-- applied and the windows' generation.
SELECT partition, applied_offset, windows_generation
FROM partition_state WHERE topic = %(topic)s ORDER BY partition
