"""The report layouts, installed as the package grants.templates (see pyproject.toml); the
TOML files here are read with importlib.resources by grants.excel.templates."""
