-- Row-level security: this transaction sees only the investor's positions.
SELECT set_config('pulse.investor_id', %(investor_id)s, true)
