-- An alert's history, oldest first.
SELECT from_status, to_status, actor, via, note, at
FROM alert_transitions
WHERE alert_id = %(alert_id)s
ORDER BY at, transition_id
