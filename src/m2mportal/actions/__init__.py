"""The SIM action workflow: accept, claim, apply, finish, cancel, idempotency."""
