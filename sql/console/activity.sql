-- Alert latency over the last hour: from a transaction stored to its alert raised.
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.detected_at - t.ingested_at))
           AS latency_p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM a.detected_at - t.ingested_at))
           AS latency_p99,
       count(a.alert_id) AS alerts_last_hour
FROM alerts a JOIN transactions t USING (transaction_id)
WHERE a.detected_at > now() - interval '1 hour'
