SELECT (SELECT count(*) FROM transactions) AS stored,
       (SELECT count(*) FROM dead_letters) AS dead,
       -- Each alert of a managed syndicate owes a row per channel (sms, email, log) and manager.
       (SELECT count(*) * 3 FROM alerts a JOIN syndicate_managers sm USING (syndicate_id)) AS owed
