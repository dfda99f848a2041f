-- `pulse syndicates set`: create or change a syndicate's settings; a missing value keeps the stored one.
INSERT INTO syndicates (syndicate_id, name, threshold_amount, spike_multiplier, spike_min_count, enabled)
VALUES (%(id)s, %(name)s, %(threshold)s, %(multiplier)s, %(min_count)s, coalesce(%(enabled)s, true))
ON CONFLICT (syndicate_id) DO UPDATE SET
    name = coalesce(%(name)s, syndicates.name),
    threshold_amount = coalesce(%(threshold)s, syndicates.threshold_amount),
    spike_multiplier = coalesce(%(multiplier)s, syndicates.spike_multiplier),
    spike_min_count = coalesce(%(min_count)s, syndicates.spike_min_count),
    enabled = coalesce(%(enabled)s, syndicates.enabled),
    updated_at = now()
