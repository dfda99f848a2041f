SELECT n.manager_id, n.channel, n.storm_window,
       array_agg(n.notification_id ORDER BY n.created_at) AS ids,
       jsonb_agg(n.alert ORDER BY n.created_at) AS alerts, m.phone, m.email
FROM notifications n JOIN fund_managers m USING (manager_id)
WHERE n.claim_token = %(claim)s AND n.status = 'digesting'
GROUP BY n.manager_id, n.channel, n.storm_window, m.phone, m.email
