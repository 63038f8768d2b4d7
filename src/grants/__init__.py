"""grants: a funding allocation and grant-monitoring ledger for UK local government."""


def __getattr__(name: str) -> str:
    # __version__ is pyproject.toml's, from the installed package's metadata; looked up when
    # asked for rather than on every import (importlib.metadata, and a lookup that walks
    # sys.path).
    if name == "__version__":
        from importlib import metadata

        return metadata.version("grants")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
