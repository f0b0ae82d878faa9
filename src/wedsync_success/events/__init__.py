"""Success events: the outbox, its dispatcher and the bus transports consumers subscribe to."""
