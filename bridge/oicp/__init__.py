"""OICP 2.3 (Hubject): models, server, client."""
