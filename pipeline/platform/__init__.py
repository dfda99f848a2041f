"""What every capability shares: the Faust app factory, topics and keys, the database, failures and
retries, consuming and outboxes, dead letters, logs, metrics and the Kafka transport."""
