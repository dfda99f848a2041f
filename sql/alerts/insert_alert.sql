-- One alert per trigger (kind, syndicate, transaction): a replay, under any id scheme, adds nothing.
INSERT INTO alerts (alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio,
                    window_start, window_end, event_time, details)
VALUES (%(alert_id)s, %(kind)s, %(syndicate_id)s, %(transaction_id)s, %(observed)s, %(expected)s,
        %(ratio)s, %(window_start)s, %(window_end)s, %(event_time)s, %(details)s)
ON CONFLICT DO NOTHING
