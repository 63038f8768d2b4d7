"""An account's stream and period as one integer (its span), as every balance read groups
them: through the ORM (grants.services.balances) and through SQLAlchemy Core (the summary,
grants.services.summary), which refuse the same accounts because they read the same span.

Imports nothing but the error tree: the summary's start-up is its benchmark.
"""

from __future__ import annotations

from grants.errors import ODD_ACCOUNT, behind_its_back

# An account's stream and period as one integer, stream_id * 10^8 + first_year * 10^4 +
# last_year: the balances are grouped by one integer key rather than a tuple of three
# columns (fewer values fetched, one int hashed an account). Exact while each year has four
# digits: an account with a year outside 1000-9999 has no span (NULL), which :func:`of_span`
# refuses, as the period's own check (1900-2999) refuses such a year. The stream id is
# widened before it is multiplied (PostgreSQL's INTEGER would overflow beyond stream 21).
# Only whole numbers have a span: SQLite keeps what it is given, and a stream id of 1.9 or
# '1x' (changed behind the ledger's back) would be cast to stream 1's, and a year of 2013.5
# with a last year of 7014 would make stream 1's 2014-15 span exactly, as a float equal to
# it. A stream id too large for the product makes a float beyond any span (SQLite's
# arithmetic goes over to one), which :func:`of_span` refuses too.
SPAN = (
    "CASE WHEN a.first_year BETWEEN 1000 AND 9999 AND a.last_year BETWEEN 1000 AND 9999 "
    "AND a.stream_id = CAST(a.stream_id AS BIGINT) "
    "AND a.first_year = CAST(a.first_year AS BIGINT) AND a.last_year = CAST(a.last_year AS BIGINT) "
    "THEN CAST(a.stream_id AS BIGINT) * 100000000 + a.first_year * 10000 + a.last_year END"
)


def of_span(span: object) -> tuple[int, int, int]:
    """The stream id, first year and last year a :data:`SPAN` stands for; an account of no
    span, or of one that is not an integer, is one the ledger never writes: refused."""
    if span.__class__ is not int:
        raise behind_its_back(ODD_ACCOUNT)
    stream_id, years = divmod(span, 100_000_000)  # type: ignore[call-overload]
    first, last = divmod(years, 10_000)
    return stream_id, first, last


__all__ = ["SPAN", "of_span"]
