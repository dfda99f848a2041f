SELECT seq, at, actor, role, action, target, request_id, outcome, detail, prev_hash, hash
FROM (SELECT * FROM audit_log ORDER BY seq DESC LIMIT %(limit)s) newest
ORDER BY seq
