"""The one settings object of Syndicate Pulse (environment prefix ``PULSE_``)."""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
