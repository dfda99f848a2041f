SELECT count(*) AS taken FROM notifications
WHERE manager_id = %(manager_id)s AND channel = %(channel)s AND storm_window = %(window)s
  AND status IN ('sending', 'sent')
