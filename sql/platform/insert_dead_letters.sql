INSERT INTO dead_letters (dead_letter_id, topic, partition, "offset", reason, detail, message_key, message_value)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (dead_letter_id) DO NOTHING
