SELECT channel, status, count(*) AS n FROM notifications
GROUP BY channel, status ORDER BY channel, status
