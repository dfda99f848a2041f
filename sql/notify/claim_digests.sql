-- Held rows of closed storm windows, and digests whose sender's lease ran out.
UPDATE notifications
SET status = 'digesting', claim_token = %(claim)s,
    lease_until = now() + make_interval(secs => %(lease_seconds)s),
    updated_at = now()
WHERE (status = 'held' AND storm_window + make_interval(mins => 10) <= now())
   OR (status = 'digesting' AND lease_until < now())
