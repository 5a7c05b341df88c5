"""Helpers of the peers benchmark: the peers' own venvs, the served model, the metering proxy, and the runner
scripts each peer runs inside its own venv."""
