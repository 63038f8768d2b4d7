"""The database: typed SQLAlchemy models (money as integer pence) and engine set-up."""
