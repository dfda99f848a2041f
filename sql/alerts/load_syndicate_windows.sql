-- Each syndicate's stored spike state, its watermark (the newest event counted in its windows) and
-- the event times its windows can still see. Both read the partial index on counted rows.
SELECT a.syndicate_id, a.first_event_at AS first_event, a.spike_open, a.alerted_count, w.watermark,
       ARRAY(
           SELECT t.transaction_date FROM transactions t
           WHERE t.syndicate_id = a.syndicate_id AND t.in_spike_window
             AND t.transaction_date > w.watermark - make_interval(secs => %(lookback)s)
           ORDER BY t.transaction_date
       ) AS times
FROM syndicate_activity a
CROSS JOIN LATERAL (
    SELECT max(t.transaction_date) AS watermark FROM transactions t
    WHERE t.syndicate_id = a.syndicate_id AND t.in_spike_window
) w
WHERE a.syndicate_id = ANY(%(syndicates)s)
