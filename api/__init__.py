"""rubricate's HTTP service: ``create_app(settings)`` builds the FastAPI app; nothing is created at import."""

from api.main import create_app

__all__ = ["create_app"]
