INSERT INTO alert_transitions (transition_id, alert_id, from_status, to_status, actor, via, note)
VALUES (%(transition_id)s, %(alert_id)s, %(from_status)s, %(to_status)s, %(actor)s, %(via)s,
        %(note)s)
