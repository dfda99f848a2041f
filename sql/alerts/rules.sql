SELECT syndicate_id, name, threshold_amount, spike_multiplier, spike_min_count, enabled
FROM syndicates
