-- Stored settings, of one syndicate or of all; NULL columns mean the PULSE_* default applies.
SELECT syndicate_id, name, threshold_amount AS threshold, spike_multiplier, spike_min_count, spike_evidence,
       enabled, escalate_after, updated_at
FROM syndicates
WHERE %(syndicate_id)s::text IS NULL OR syndicate_id = %(syndicate_id)s
ORDER BY syndicate_id
