"""The Pulse console: server-rendered pages for fund managers, investors, ops and admins."""
