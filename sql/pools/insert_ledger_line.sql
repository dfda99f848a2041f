INSERT INTO ledger_entries (pool_id, seq, line, account, amount, currency)
VALUES (%(pool_id)s, %(seq)s, %(line)s, %(account)s, %(amount)s, %(currency)s)
