-- One sender at a time counts and takes a manager's storm slots on a channel.
SELECT pg_advisory_xact_lock(hashtext('pulse.storm'), hashtext(%(manager_channel)s))
