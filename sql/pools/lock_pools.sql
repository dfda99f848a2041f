-- Lock the pools' rows in id order (no deadlock cycles); their stored sequence numbers.
SELECT pool_id, seq FROM pools WHERE pool_id = ANY(%(pool_ids)s) ORDER BY pool_id FOR UPDATE
