-- Each source partition's version: moved by every batch that wrote it, by whichever worker.
SELECT partition, version FROM partition_state WHERE topic = %(topic)s AND partition = ANY(%(partitions)s)
