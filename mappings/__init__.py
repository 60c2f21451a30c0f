"""Pure OCPI <-> OICP translations driven by rule tables (imports only models and bridge.errors)."""
