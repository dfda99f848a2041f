SELECT (SELECT count(*) FROM transactions) AS transactions,
       (SELECT count(*) FROM dead_letters) AS dead_letters,
       (SELECT count(*) FROM investor_totals) AS investors
