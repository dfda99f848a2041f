-- The newest offset of each partition of transactions this database has processed: a row stored
-- from it, or a dead letter. Batches are written in offset order, one database transaction each,
-- so every offset up to it is in the database; the next one is where a replay resumes.
SELECT partition, max(last) AS processed
FROM (SELECT source_partition AS partition, max(source_offset) AS last
      FROM transaction_keys GROUP BY source_partition
      UNION ALL
      SELECT partition, max("offset") FROM dead_letters WHERE topic = %(topic)s GROUP BY partition)
     AS found
GROUP BY partition
