"""Wiring: settings, the Starlette application factory and the CLI."""
