"""The schema's revisions, in order (Alembic reads every module here but this one)."""
