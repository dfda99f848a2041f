UPDATE fund_managers SET name = %(name)s, phone = %(phone)s, email = %(email)s
WHERE manager_id = %(manager_id)s
