-- What live detection raised for a backtest's range.
SELECT alert_id, kind, syndicate_id
FROM alerts
WHERE event_time >= %(start)s AND event_time < %(end)s
  AND (%(syndicate_ids)s::text[] IS NULL OR syndicate_id = ANY(%(syndicate_ids)s::text[]))
