"""Background work of the cloud: consumers of the event outbox and periodic jobs, the
I/O shell that runs the pure warehouse core in its own transactions."""
