"""The gateway layer: token check, scope, read-only, IP list, limits, the error envelope."""
