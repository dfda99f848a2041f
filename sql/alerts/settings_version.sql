-- Moved forward by a trigger in every transaction that changes a syndicate's settings.
SELECT version FROM syndicate_settings_version
