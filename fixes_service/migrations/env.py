"""Alembic environment of the fixes database: the shared runner does the work."""

from fixes_service.adapters.tables import metadata
from flowpilot.runtime.migrations import run_env

run_env(metadata)
