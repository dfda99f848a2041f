-- An alert the relay cannot publish: set aside with the reason, so it stops retrying it.
UPDATE alerts SET publish_error = %(reason)s WHERE alert_id = %(alert_id)s
