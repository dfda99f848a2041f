SELECT syndicate_id, name, threshold_amount, spike_multiplier, spike_min_count, spike_evidence, enabled
FROM syndicates
