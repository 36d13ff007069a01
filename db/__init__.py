"""Persistence: SQLAlchemy models, engine and sessions, queries, migrations.

Imports nothing of the project above it (see docs/ARCHITECTURE.md).
"""
