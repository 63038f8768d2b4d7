"""The Alembic migrations, installed as the package grants.migrations (see pyproject.toml)."""
