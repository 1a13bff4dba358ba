"""The built-in OpenID Connect issuer (Keycloak-shaped) and token verification."""
