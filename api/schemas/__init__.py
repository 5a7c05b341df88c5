"""Request and response schemas of the API, one module per resource (requests and responses kept apart)."""

__all__: list[str] = []
