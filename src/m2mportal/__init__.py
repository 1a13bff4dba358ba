"""m2mportal: an open-source implementation of the M2M Service Portal 3.0 API."""

__version__ = "0.1.0"
API_BASE = "/iot/connectivity/management/v1"
