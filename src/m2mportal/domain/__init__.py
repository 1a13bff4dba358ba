"""Pure rules of the platform: no I/O here."""
