UPDATE call_allocations SET paid = %(paid)s
WHERE call_id = %(call_id)s AND investor_id = %(investor_id)s
