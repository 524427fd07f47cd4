from flowpilot.runtime.migrations import run_env
from scriptbuilder_service.adapters.tables import metadata

run_env(metadata)
