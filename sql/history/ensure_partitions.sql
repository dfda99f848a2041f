-- Make the monthly partitions of transactions from %(first_month)s (NULL: this month) through
-- %(months_ahead)s months after this one (UTC months), moving any rows of those months out of the
-- default partition; the names of those it made. Runs with the schema owner's rights, so the
-- workers' role, which has no DDL, can call it.
SELECT made FROM pulse_ensure_transaction_partitions(
    coalesce(%(first_month)s::date, (now() AT TIME ZONE 'UTC')::date),
    ((now() AT TIME ZONE 'UTC')::date + make_interval(months => %(months_ahead)s))::date
) AS made
