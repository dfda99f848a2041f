-- Managers with a phone (encrypted): the inbound-SMS webhook finds the sender among them.
SELECT manager_id, phone FROM fund_managers WHERE phone IS NOT NULL
