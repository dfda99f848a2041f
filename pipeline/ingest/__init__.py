"""Transactions into PostgreSQL: triage, the idempotent sink, the dead-letter replay and the top-5."""
