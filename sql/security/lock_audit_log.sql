-- One appender at a time, across workers and the CLI, so the hash chain has one order.
-- The key is 0x61756469 ('audi').
SELECT pg_advisory_xact_lock(1635083369)
