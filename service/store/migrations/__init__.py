"""Alembic migrations of the store schema (run by ``store.engine.migrate``)."""
