-- What live detection raised for a backtest's range, and which of it a manager resolved with the
-- note "false positive": the labels a backtest scores candidate settings against.
SELECT alert_id, kind, syndicate_id, event_time,
       EXISTS (
           SELECT 1 FROM alert_transitions t
           WHERE t.alert_id = alerts.alert_id AND t.to_status = 'resolved'
             AND lower(btrim(t.note)) = 'false positive'
       ) AS false_positive
FROM alerts
WHERE event_time >= %(start)s AND event_time < %(end)s
  AND (%(syndicate_ids)s::text[] IS NULL OR syndicate_id = ANY(%(syndicate_ids)s::text[]))
