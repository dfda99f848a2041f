-- Stored (they are money) but too late for the spike windows.
UPDATE transactions SET in_spike_window = false WHERE transaction_id = ANY(%(transaction_ids)s)
