"""Investment pools: the HTTP API, the command handler, the store, the event publisher, reconcile."""
