-- Every partition's spike windows start a new generation, under the lock each batch of the
-- partition takes (in partition order, as the sink takes them: no deadlock cycle), so none is
-- half-applied meanwhile; its version moves so that the worker that owns it reads it afresh and
-- rebuilds it from the rows stored here.
WITH locked AS (
    SELECT partition, pg_advisory_xact_lock(hashtext('pulse.transactions'), partition)
    FROM (SELECT partition FROM partition_state WHERE topic = %(topic)s ORDER BY partition) AS p
)
UPDATE partition_state s
SET windows_generation = windows_generation + 1, version = version + 1
FROM locked
WHERE s.topic = %(topic)s AND s.partition = locked.partition
RETURNING s.partition, s.windows_generation
