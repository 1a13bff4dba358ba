"""The customer REST API (``/iot/connectivity/management/v1``): route table and handlers."""
