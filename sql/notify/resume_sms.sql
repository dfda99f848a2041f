-- START: SMS to these managers again, from the next alert on.
UPDATE fund_managers SET sms_paused_at = NULL WHERE manager_id = ANY(%(manager_ids)s::uuid[])
