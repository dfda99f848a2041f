-- Open alerts whose deadline has passed, locked (another worker skips them) until this
-- transaction has notified the next level and moved the deadline.
SELECT a.alert_id, a.kind, a.syndicate_id, a.transaction_id, a.observed, a.expected, a.ratio,
       a.event_time, a.window_start, a.window_end, a.details, a.detected_at,
       a.escalation_level, a.escalate_at, s.name AS syndicate_name,
       coalesce(s.escalate_after, %(default_after)s) AS escalate_after
FROM alerts a LEFT JOIN syndicates s USING (syndicate_id)
WHERE a.escalate_at <= clock_timestamp() AND a.status = 'open'
ORDER BY a.escalate_at
LIMIT %(limit)s
FOR UPDATE OF a SKIP LOCKED
