"""Deciding what is an alert: detection over stored windows, syndicate rules, the alert publisher."""
