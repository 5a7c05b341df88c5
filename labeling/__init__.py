"""Human review in Label Studio: the launcher (own venv, loopback), the label config, task mapping and sync."""

__all__: list[str] = []
