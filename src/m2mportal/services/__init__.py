"""The service layer: use cases shared by the API, the operator API, the CLI and the portal."""
