"""The platform operator's API (``/operator/v1``): partners, applications, inventory, clock."""
