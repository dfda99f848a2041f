SELECT channel || ':' || status AS outcome, count(*) AS deliveries FROM notifications GROUP BY 1
