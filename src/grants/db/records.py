"""The tables of record: what the ledger holds as fact, and how each record reads as text.

Every table named here is append-only (guard triggers refuse UPDATE, DELETE and TRUNCATE)
and every row of a *sealed* table is sealed in the hash chain (grants.db.seal) when its
transaction commits. A record is one row of a sealed table with the rows that belong to it:
an entry with its postings (each with its account's key), a return filing with its figures,
a profile with its amounts. Accounts are not sealed on their own: their keys are part of
every entry that posts to them, and `grants verify` checks that each account's key matches
its columns.

A record's canonical text lists its columns in the order given here, as JSON. The order is
part of the chain: a column added to a table of record needs a new ``form`` (the form a seal
was made with is stored in the seal), never a change to an existing one. Earlier forms stay
in ``FORMS``: the migration that first sealed the ledger seals with form 1, whatever the
tables hold by the time it runs, and `grants verify` reads each seal with its own form.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Child:
    """Rows that belong to a record: their table, the column naming the record, and the
    columns read (in order) for each."""

    table: str
    parent: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Record:
    """A sealed table: its columns in canonical order, the rows that belong to each record,
    and the columns sealed by the SHA-256 of their bytes (a received workbook)."""

    table: str
    columns: tuple[str, ...]
    child: Child | None = None
    form: int = 1
    blobs: frozenset[str] = field(default_factory=frozenset)


PROVENANCE = ("source", "origin", "note")

STATEMENT_1 = (
    "id", "key", "kind", "day", "stream_id", "first_year", "last_year", "metric", "target",
    "amount", "scale", "printed", "table_name", "row_label", *PROVENANCE,
)  # fmt: skip

# In the order records of one transaction are sealed when nothing else orders them: what a
# record refers to comes before it.
# fmt: off
RECORDS: tuple[Record, ...] = (
    Record("organisation", ("id", "code", "name", "role", "day", *PROVENANCE)),
    Record(
        "stream",
        ("id", "code", "name", "kind", "funder_id", "accountable_id", "intervention_bp", "day",
         *PROVENANCE),
    ),
    Record(
        "line",
        ("id", "stream_id", "code", "name", "kind", "parent_id", "recipient_id", "ref",
         "aliases", "total_cost_pence", "specific_funding_pence", "day", *PROVENANCE),
    ),
    Record("setting", ("id", "name", "value", "day", "actor", *PROVENANCE)),
    Record("stream_text", ("id", "stream_id", "kind", "code", "text", "day", *PROVENANCE)),
    Record(
        "programme_version",
        ("id", "stream_id", "code", "name", "compare_code", "day", *PROVENANCE),
    ),
    Record(
        "profile",
        ("id", "version_id", "table_name", "code", "label", "section", "position",
         "total_pence", "estimate_years", "day", *PROVENANCE),
        child=Child("profile_amount", "profile_id", ("id", "year", "amount_pence")),
    ),
    Record(
        "statement",
        (*STATEMENT_1, "rounding"),  # form 2 (0009): how a printed figure was rounded
        form=2,
    ),
    Record(
        "match_funding",
        ("id", "key", "day", "line_id", "amount_pence", "from_source", "form", *PROVENANCE),
    ),
    # Growth-fund projects (0014): the indicator catalogue, spend profiles, claims, outputs.
    Record("indicator", ("id", "code", "name", "fund", "unit", "definition", "day", *PROVENANCE)),
    Record(
        "spend_profile", ("id", "day", "line_id", "year", "quarter", "amount_pence", *PROVENANCE)
    ),
    Record(
        "project_claim",
        ("id", "day", "line_id", "year", "quarter", "eligible_pence", "grant_pence",
         "match_pence", "match_form", "evidence", *PROVENANCE),
    ),
    Record("output_target", ("id", "day", "line_id", "indicator", "value_x100", *PROVENANCE)),
    Record(
        "output_actual",
        ("id", "day", "line_id", "year", "quarter", "indicator", "value_x100", *PROVENANCE),
    ),
    Record(
        "entry",
        ("id", "key", "ref", "kind", "day", "stream_id", "first_year", "last_year", "line_id",
         "to_line_id", "to_first_year", "to_last_year", "amount_pence", "tranche", "share",
         "over_allocation", "printed", "reverses_id", "actor", "reason", "recorded_at",
         "source", "origin", "note", "turnover_pence"),
        # Each posting with its account's key (read from the account table).
        child=Child("posting", "entry_id", ("id", "account_id", "amount_pence")),
    ),
    # What a claim to a funder says beyond its entry (0013): sealed after the entry.
    Record("claim", ("id", "entry_id", "starts", "ends", "eligible_pence", "evidence")),
    # What a signed grant agreement says beyond its commitment entry (0013).
    Record("commitment", ("id", "entry_id", "agreement", "conditions", "starts", "ends")),
    # An allocation's payment schedule, one instalment a record (0013).
    Record(
        "instalment",
        ("id", "key", "day", "line_id", "first_year", "last_year", "basis", "amount_pence",
         "due", "milestone", *PROVENANCE),
    ),
    Record(
        "plan_line",
        ("id", "key", "day", "line_id", "year", "position", "title", "objectives",
         "cost_pence", "other_funding", "pcc_objective", *PROVENANCE),
    ),
    Record("plan_agreement", ("id", "key", "day", "line_id", "year", *PROVENANCE)),
    Record(
        "return_stage",
        ("id", "key", "day", "stream_id", "year", "stage", "covers_to", "due", *PROVENANCE),
    ),
    Record(
        "attachment",
        ("id", "sha256", "filename", "size", "content"),
        blobs=frozenset({"content"}),
    ),
    Record(
        "return_filing",
        ("id", "key", "stream_id", "line_id", "year", "stage", "fingerprint", "filename",
         "actor", "recorded_at", "received_on", "completed_by", "completed_on",
         "stated_total_pence", "supersedes_id"),
        child=Child(
            "return_figure", "filing_id",
            ("id", "position", "title", "cell", "spend_pence", "progress", "measure", "target",
             "actual"),
        ),
    ),
    Record(
        "plan_filing",
        ("id", "key", "stream_id", "line_id", "year", "filename", "actor", "recorded_at",
         "received_on", "completed_by", "completed_on", "lines"),
    ),
    # Forms issued (0011): each with its MAC and its locked display cells as issued.
    Record(
        "form_issue",
        ("id", "mac", "kind", "stream_id", "line_id", "year", "stage", "recipient",
         "fingerprint", "issued_on", "display", "actor", "recorded_at"),
    ),
    # People (0010): who may use the ledger, what they may do, their passwords' hashes, and
    # the audit log of logins and refusals.
    Record("person", ("id", "key", "login", "name", "day", "recorded_at", "actor")),
    Record(
        "person_event",
        ("id", "person_id", "kind", "role", "organisation_id", "actor", "recorded_at"),
    ),
    Record("credential", ("id", "person_id", "hash", "actor", "recorded_at")),
    Record(
        "audit_event",
        ("id", "recorded_at", "person_id", "login", "kind", "action", "detail"),
    ),
)
# fmt: on

BY_TABLE = {r.table: r for r in RECORDS}
# Every form of every record, by (table, form). A record sealed in an earlier form is read
# with that form's columns (the columns added since are empty in it: see ``earlier``).
FORMS: dict[tuple[str, int], Record] = {(r.table, r.form): r for r in RECORDS}
FORMS[("statement", 1)] = Record("statement", STATEMENT_1)


def earlier(record: Record, form: int, values: list[object]) -> list[object] | None:
    """A record's values (read in its current form) as sealed in an earlier ``form``: the
    columns of that form, in its order; None if a column added since holds a value (a record
    sealed before the column existed cannot hold one)."""
    then = FORMS[(record.table, form)]
    named = dict(zip(record.columns, values, strict=True))
    if any(named[c] is not None for c in record.columns if c not in then.columns):
        return None
    return [named[c] for c in then.columns]


RANK = {r.table: i for i, r in enumerate(RECORDS)}

# Append-only: the sealed tables, the rows that belong to their records, the accounts the
# journal posts to, and the chain itself.
GUARDED: tuple[str, ...] = (
    *(r.table for r in RECORDS),
    *(r.child.table for r in RECORDS if r.child),
    "account",
    "seal",
)
# Every append-only table: those, and the form key (guarded, but not sealed: it is never in
# an export's books, so no record of the chain can hold it).
APPEND_ONLY: tuple[str, ...] = (*GUARDED, "form_key")
# The heads a walk of every link found whole (migration 0016): guarded too, but no record. Not
# sealed (each walk would move the head it proved), never in an export's books, and its ids
# are not held to run without gaps (a verification that could not be written leaves one on
# PostgreSQL, and reconcile relies only on the latest row). Verify checks its guards once
# the schema has it.
VERIFIED = "verification"
# The tables whose greatest id a verification records (its ``marks``): every table of record
# and every table of rows that belong to a record. A row of one added later with an id at or
# below its mark, or one above it that belongs to a record sealed up to the verified link,
# was not there when a walk of every link found the record whole.
MARKED: tuple[tuple[str, Record], ...] = (
    *((r.table, r) for r in RECORDS),
    *((r.child.table, r) for r in RECORDS if r.child),
)
EVERY_GUARDED: tuple[str, ...] = (*APPEND_ONLY, VERIFIED)

# Tables whose rows change: web sessions (last seen, ended) and the failed sign-ins the rate
# limit counts. Neither sealed nor guarded, never in an export's books; the working role may
# update and delete their rows (grants.db.roles).
CHANGING: tuple[str, ...] = ("web_session", "sign_in_failure")

__all__ = [
    "APPEND_ONLY",
    "BY_TABLE",
    "CHANGING",
    "EVERY_GUARDED",
    "FORMS",
    "GUARDED",
    "MARKED",
    "RANK",
    "RECORDS",
    "VERIFIED",
    "Child",
    "Record",
    "earlier",
]
