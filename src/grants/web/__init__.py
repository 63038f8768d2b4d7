"""The web service: a second face on the ledger's services, for recipients, officers and
viewers in a browser (`grants serve`; docs/web.md)."""
