"""Getting alerts to fund managers: routing, the notification outbox, the sender and its channels."""
