SELECT seq, at, actor, role, action, target, request_id, outcome, detail, prev_hash, hash
FROM audit_log ORDER BY seq
