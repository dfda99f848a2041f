"""Syndicate Pulse: the Faust app, its topics, the Postgres sink and the CLI."""
