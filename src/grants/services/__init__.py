"""Services: turn ledger operations into journal entries and the journal into figures.

Services take a session and never commit; the command that opened the session owns the
transaction.
"""
