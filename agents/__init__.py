"""Faust agents: thin adapters from topics to the services in ``pipeline``."""
