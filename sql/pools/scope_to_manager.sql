-- Row-level security: this transaction sees only the manager's pools.
SELECT set_config('pulse.manager_id', %(manager_id)s, true)
