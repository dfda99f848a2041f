"""Domain types of Syndicate Pulse: plain Python, no I/O."""
