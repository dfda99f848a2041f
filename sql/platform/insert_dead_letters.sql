INSERT INTO dead_letters (dead_letter_id, topic, partition, "offset", reason, detail, message_key, message_value)
VALUES (%(dead_letter_id)s, %(topic)s, %(partition)s, %(offset)s, %(reason)s, %(detail)s,
        %(message_key)s, %(message_value)s)
ON CONFLICT (dead_letter_id) DO NOTHING
