SELECT kind, count(*) AS alerts FROM alerts GROUP BY kind
