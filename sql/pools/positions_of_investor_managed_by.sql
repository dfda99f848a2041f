-- A fund manager sees an investor's positions in the pools they manage, no others.
SELECT pp.pool_id, pp.investor_id, pp.committed, pp.called, pp.contributed, pp.distributed
FROM pool_positions pp
WHERE pp.investor_id = %(investor_id)s
  AND EXISTS (SELECT 1 FROM pools p WHERE p.pool_id = pp.pool_id AND %(manager_id)s = ANY(p.manager_ids))
ORDER BY pp.pool_id
