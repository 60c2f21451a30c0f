"""The gateway's OCPI server side: envelope, authentication, versions and module routes."""
