UPDATE alerts SET escalation_level = %(level)s, escalate_at = %(escalate_at)s
WHERE alert_id = %(alert_id)s
