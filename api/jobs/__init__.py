"""Background scoring: the work function, the in-process worker, and the Celery app that runs the same function."""

__all__: list[str] = []
