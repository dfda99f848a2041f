-- Every manager's encrypted personal data, locked for re-encryption.
SELECT manager_id, name, phone, email FROM fund_managers FOR UPDATE
