INSERT INTO audit_log (seq, at, actor, role, action, target, request_id, outcome, detail,
                       prev_hash, hash)
VALUES (%(seq)s, %(at)s, %(actor)s, %(role)s, %(action)s, %(target)s, %(request_id)s,
        %(outcome)s, %(detail)s, %(prev_hash)s, %(hash)s)
