"""Who may do what: authentication, the route policy middleware, keys, personal data, the audit log."""
