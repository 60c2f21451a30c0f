"""Test support shared by several test modules (config files, running apps)."""
