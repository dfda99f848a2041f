-- `pulse syndicates set`: create or change a syndicate's settings; a missing value keeps the stored one.
INSERT INTO syndicates (syndicate_id, name, threshold_amount, spike_multiplier, spike_min_count, spike_evidence,
                        enabled,                         escalate_after)
VALUES (%(id)s, %(name)s, %(threshold)s, %(multiplier)s, %(min_count)s, %(evidence)s, coalesce(%(enabled)s, true),
        %(escalate_after)s)
ON CONFLICT (syndicate_id) DO UPDATE SET
    name = coalesce(%(name)s, syndicates.name),
    threshold_amount = coalesce(%(threshold)s, syndicates.threshold_amount),
    spike_multiplier = coalesce(%(multiplier)s, syndicates.spike_multiplier),
    spike_min_count = coalesce(%(min_count)s, syndicates.spike_min_count),
    spike_evidence = coalesce(%(evidence)s, syndicates.spike_evidence),
    enabled = coalesce(%(enabled)s, syndicates.enabled),
    escalate_after = coalesce(%(escalate_after)s, syndicates.escalate_after),
    updated_at = now()
