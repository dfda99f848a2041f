INSERT INTO fund_managers (manager_id, name, phone, email, channels)
VALUES (%(manager_id)s, %(name)s, %(phone)s, %(email)s, %(channels)s)
