"""Events: the outbox, CloudEvent shapes, subscriptions and streams."""
