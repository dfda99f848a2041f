-- The outbox of pool-events, written in the same transaction as the event (pipeline.pools.publisher).
INSERT INTO pool_events_unpublished (pool_id, seq) VALUES (%(pool_id)s, %(seq)s)
