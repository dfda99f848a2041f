-- Grouping every transaction by pair and by investor (millions of groups) at the default work_mem
-- spills to disk; this transaction may hold more of it in memory.
SET LOCAL work_mem = '256MB'
