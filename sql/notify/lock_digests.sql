-- One claimer at a time: SKIP LOCKED could split one digest between two senders.
SELECT pg_advisory_xact_lock(hashtext('pulse.digests'))
