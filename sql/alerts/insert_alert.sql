-- One alert per trigger (kind, syndicate, transaction): a replay, under any id scheme, adds nothing.
INSERT INTO alerts (alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio,
                    window_start, window_end, event_time, details)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING
