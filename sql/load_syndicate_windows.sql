-- Each syndicate's stored spike state and the event times its windows can still see.
SELECT a.syndicate_id, a.first_event_at, a.spike_open, a.alerted_count, a.watermark,
       ARRAY(
           SELECT t.transaction_date FROM transactions t
           WHERE t.syndicate_id = a.syndicate_id AND t.in_spike_window
             AND t.transaction_date > a.watermark - make_interval(secs => %(lookback)s)
           ORDER BY t.transaction_date
       ) AS times
FROM syndicate_activity a
WHERE a.syndicate_id = ANY(%(syndicates)s)
