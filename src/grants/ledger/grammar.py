"""The grammar of the books: the directives, their arguments and metadata, and the value
patterns they use. Shared by the validator (grants.ledger.validate) and the documentation
(ledger/README.md)."""

from __future__ import annotations

import re

from grants.ledger import form_issues, giving_books, growth, people

ROLES = ("funder", "accountable-body", "partnership", "recipient")
STREAM_KINDS = (
    "pcc-csf", "lgf", "city-deal", "growth-deal", "erdf", "esf", "eafrd", "esif",
    "capital-grant", "capital-receipt", "reserve", "other",
)  # fmt: skip
LINE_KINDS = ("allocation", "portfolio", "scheme", "project")
MATCH_FORMS = ("cash", "in-kind", "unstated")
# How a printed figure was rounded to the places it is written with (`rounding:`): half-up
# (the default), down (cut towards zero), up (away from zero), any (either way).
ROUNDINGS = ("half-up", "down", "up", "any")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")  # at most 40 characters
YEAR_KEY = re.compile(r"^\d{2,4}[-/]\d{1,4}$")
COMMON = {"source", "note", "origin"}
ENTRY_META = COMMON | {"actor", "recorded", "reason", "id", "key", "printed"}
ALLOWED_META: dict[str, set[str]] = {
    "org": COMMON | {"role"},
    "stream": COMMON | {"kind", "funder", "accountable", "intervention"},
    "line": COMMON
    | {"parent", "recipient", "kind", "ref", "aliases", "total-cost", "specific-funding"},
    "award": ENTRY_META | {"tranche"},
    "allocate": ENTRY_META | {"share", "over-allocation"},
    # `from: LINE`: passed on by the recipient of the line's parent LINE (regranting).
    "pay": ENTRY_META | {"from"},
    "spent": ENTRY_META,
    "clawback": ENTRY_META,
    "virement": ENTRY_META,
    "reprofile": ENTRY_META | {"tranche"},
    "reverse": ENTRY_META,
    "claim": ENTRY_META | {"from", "to", "quarter", "eligible", "evidence"},
    "receipt": ENTRY_META | {"claim"},
    "commit": ENTRY_META | {"agreement", "conditions", "from", "to"},
    "schedule": COMMON | {"basis", "due", "milestone", "key"},
    "carry-forward": ENTRY_META | {"approval"},
    # `key:` on a record is written by `grants ledger export` when the record's key is not
    # the one its content gives (it was recorded by a command, not from books).
    "stated": COMMON | {"key"},
    "balance": COMMON | {"scale", "printed", "table", "row", "key", "rounding"},
    "printed": COMMON | {"scale", "printed", "table", "row", "key", "rounding"},
    "match": COMMON | {"from", "form", "key"},
    "programme": COMMON | {"compare"},
    "profile": COMMON | {"section", "estimate", "total", "later"},
    "tranche": COMMON,
    "heading": COMMON,
    "plan": COMMON | {"cost", "objectives", "pcc-objective", "other-funding", "key"},
    "agree": COMMON | {"key"},
    "due": COMMON | {"to", "key"},
    "title": COMMON | {"actor"},
    # A filed return and a spending plan form as recorded (written by `grants ledger export`);
    # a return's lines are numbered metadata (LINE_KEY).
    "return": {"sha256", "fingerprint", "actor", "recorded", "completed-by", "completed-on",
               "total", "supersedes", "attachment"},
    "plan-form": {"sha256", "actor", "recorded", "completed-by", "completed-on", "lines",
                  "attachment"},
    "head": set(),
    **people.META,
    **form_issues.META,
    **giving_books.META,
    **growth.META,
}  # fmt: skip
ARITY = {
    "org": 2, "stream": 2, "line": 3, "award": 3, "allocate": 4, "pay": 4, "spent": 4,
    "clawback": 4, "virement": 5, "reprofile": 4, "reverse": 1, "claim": 4, "receipt": 3,
    "commit": 4, "schedule": 4, "carry-forward": 5,
    "stated": 3, "balance": 4,
    "printed": 4, "match": 3, "programme": 3, "profile": 5, "plan": 4, "agree": 3, "due": 4,
    "title": 1, "return": 5, "plan-form": 4, "head": 1, "tranche": 3, "heading": 3,
    **people.ARITY,
    **form_issues.ARITY,
    **giving_books.ARITY,
    **growth.ARITY,
}  # fmt: skip
USAGE = {
    "org": 'DATE org CODE "Name"',
    "stream": 'DATE stream CODE "Name"',
    "line": 'DATE line STREAM CODE "Name"',
    "award": "DATE award STREAM PERIOD AMOUNT",
    "allocate": "DATE allocate STREAM PERIOD LINE AMOUNT",
    "pay": "DATE pay STREAM PERIOD LINE AMOUNT",
    "spent": "DATE spent STREAM PERIOD LINE AMOUNT",
    "clawback": "DATE clawback STREAM PERIOD LINE AMOUNT",
    "virement": "DATE virement STREAM PERIOD FROM-LINE TO-LINE AMOUNT",
    "reprofile": "DATE reprofile STREAM FROM-PERIOD TO-PERIOD AMOUNT",
    "reverse": "DATE reverse ENTRY-ID",
    "claim": "DATE claim STREAM PERIOD NAME AMOUNT",
    "receipt": "DATE receipt STREAM PERIOD AMOUNT",
    "commit": "DATE commit STREAM PERIOD LINE AMOUNT",
    "schedule": "DATE schedule STREAM PERIOD LINE AMOUNT",
    "carry-forward": "DATE carry-forward STREAM FROM-YEAR TO-YEAR LINE AMOUNT",
    "stated": "DATE stated STREAM PERIOD AMOUNT",
    "balance": "DATE balance STREAM PERIOD METRIC[:TARGET] AMOUNT",
    "printed": "DATE printed STREAM PERIOD METRIC[:TARGET] AMOUNT",
    "match": "DATE match STREAM LINE AMOUNT",
    "programme": 'DATE programme STREAM VERSION "Name"',
    "profile": 'DATE profile STREAM VERSION TABLE CODE "Label"',
    "plan": 'DATE plan STREAM YEAR LINE "Expenditure title"',
    "agree": "DATE agree STREAM YEAR LINE",
    "due": "DATE due STREAM YEAR STAGE DUE-DATE",
    "title": 'DATE title "The ledger\'s name"',
    "tranche": 'DATE tranche STREAM CODE "Name"',
    "heading": 'DATE heading STREAM [TEMPLATE:]SECTION.KEY "Text"',
    "return": 'DATE return STREAM YEAR LINE STAGE "file.xlsx"',
    "plan-form": 'DATE plan-form STREAM YEAR LINE "file.xlsx"',
    "head": "DATE head COUNT:DIGEST",
    **people.USAGE,
    **form_issues.USAGE,
    **giving_books.USAGE,
    **growth.USAGE,
}
# A return's expenditure line N (1-999) and its cells: `line-2: "Title"`, `line-2-spend: 1,000`.
LINE_KEY = re.compile(r"^line-([1-9][0-9]{0,2})(?:-(cell|spend|progress|measure|target|actual))?$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
RECORD_KEY = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{40}$")  # a command's, or derived
# Which arguments are names (NFC-normalised, at most grants.text.MAX_NAME characters), by
# position; every other argument is a one-line value with a grammar of its own.
NAME_ARGS = {
    "org": 1, "stream": 1, "line": 2, "programme": 2, "profile": 4, "plan": 3, "title": 0,
    "tranche": 2, "heading": 2, **growth.NAME_ARGS,
}  # fmt: skip
# Metadata that is free text (line breaks allowed), with a return's `line-N-progress`; a
# note may also hold tabs. Every other value is one line.
FREE_META = frozenset(
    {"reason", "objectives", "other-funding", "origin", "definition", "conditions"}
)
NOTE_META = frozenset({"note"})
# Metadata kept in columns of a fixed size: at most this many characters.
META_LIMITS = {"actor": 100, "ref": 20, "key": 64, "display": 99_000}  # display: within a line
STAGE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")
FIGURE = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,6})?$")
