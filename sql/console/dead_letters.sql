SELECT topic, reason, count(*) AS n, max(received_at) AS last_at,
       (array_agg(detail ORDER BY received_at DESC))[1] AS last_detail
FROM dead_letters
GROUP BY topic, reason ORDER BY n DESC, topic, reason
