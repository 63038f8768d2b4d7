"""Forms that cannot be forged: every issued form's identity is a keyed MAC.

The ledger holds a secret of its own (table ``form_key``: 32 random bytes from `secrets`,
made by `grants db upgrade`, guarded append-only, the latest stands; never written into a
form, workbook or report, and into an export only as the separate file ``form-key``). Each
form issued is recorded as issued (table of record ``form_issue``): its identity (kind,
stream, year, line, stage, the recipient, the plan's fingerprint, the issue date), its
locked display cells exactly as written (``Return!B4`` -> value) and its MAC, HMAC-SHA256
with the key over all of them. The form's identity cell holds the fields in clear and the
MAC::

    grants return form 2|CSF|2017-18|CHERWELL|mid-year|1a2b3c4d5e6f|CHER-CSP|2017-09-01|
    5f0c...-...-...-... (the MAC's 64 hexadecimal digits in four groups)

An import parses the identity, finds the form issued with that MAC, recomputes the MAC over
the fields the cell shows and the display cells as issued, and compares the two in constant
time (``hmac.compare_digest``): a form made by another ledger holding the same books, or one
whose identity was edited in any field, does not verify. Then every locked display cell is
compared with what was issued, and a changed one is refused naming the cell. Only then do
the form's own checks run (the plan changed since issue, titles and costs, totals).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from grants.db.models import FormIssue, FormKey, Line, Organisation, Stream
from grants.errors import GrantsError
from grants.periods import FinancialYear, PeriodError, parse_year
from grants.services import access

if TYPE_CHECKING:
    from grants.services.plan_forms import PlanForm
    from grants.services.returns import ReturnForm

RETURN_FORMAT = "grants return form 2"
PLAN_FORMAT = "grants plan form 2"
FORMATS = {"return": RETURN_FORMAT, "plan": PLAN_FORMAT}
KEY_FILE = "form-key"  # beside an export's main.grants: the key, mode 0600
NOT_ISSUED = (
    "this form was not issued by this ledger, or its identity was altered: use the form as "
    "issued, or ask for a new form"
)
RESTORED = (
    "this form was issued by another ledger, or before this ledger was restored: ask for a new form"
)


class FormKeyMissing(GrantsError):
    """The ledger has no form key (a ledger not yet upgraded)."""


@dataclass(frozen=True)
class Identity:
    """What a form is: the fields its identity cell shows in clear."""

    kind: str  # return or plan
    stream: str
    year: int
    line: str
    stage: str  # a return's stage; "plan" for a plan form
    fingerprint: str
    recipient: str  # the line's recipient organisation's code ("" for none)
    issued_on: date

    def fields(self) -> list[str]:
        return [
            FORMATS[self.kind], self.stream, str(FinancialYear(self.year)), self.line,
            *([self.stage] if self.kind == "return" else []), self.fingerprint, self.recipient,
            self.issued_on.isoformat(),
        ]  # fmt: skip

    def text(self, mac: str) -> str:
        """The identity cell's text: the MAC in groups of 16 digits joined by hyphens, where
        a printed form may wrap it (a column is narrower than 64 digits)."""
        groups = [mac[i : i + 16] for i in range(0, len(mac), 16)]
        return "|".join([*self.fields(), "-".join(groups)])


def parse(kind: str, value: object) -> tuple[Identity, str] | None:
    """An identity cell's fields and MAC; None if it is not one of this kind's."""
    parts = str(value or "").split("|")
    wanted = 9 if kind == "return" else 8
    if len(parts) != wanted or parts[0] != FORMATS[kind]:
        return None
    if kind == "return":
        _, stream, year, line, stage, fingerprint, recipient, issued, mac = parts
    else:
        _, stream, year, line, fingerprint, recipient, issued, mac = parts
        stage = "plan"
    try:
        fy = parse_year(year)
        day = date.fromisoformat(issued)
    except (PeriodError, ValueError):
        return None
    return Identity(kind, stream, fy.start, line, stage, fingerprint, recipient, day), (
        mac.replace("-", "")
    )


# -- the key ------------------------------------------------------------------------------


def new_key() -> str:
    return secrets.token_hex(32)


def ensure_key(connection: Connection) -> bool:
    """Make the ledger's form key if it has none (`grants db upgrade`); True if made."""
    table = FormKey.__table__
    if connection.scalar(select(table.c.id).limit(1)) is not None:
        return False
    connection.execute(
        table.insert(), {"secret": new_key(), "recorded_at": datetime.now().replace(microsecond=0)}
    )
    return True


def _key(session: Session) -> bytes:
    secret = session.scalar(select(FormKey.secret).order_by(FormKey.id.desc()).limit(1))
    if secret is None:
        raise FormKeyMissing("the ledger has no form key: run `grants db upgrade`")
    return bytes.fromhex(secret)


def derived_secret(session: Session, purpose: str) -> str:
    """A secret of this ledger for ``purpose`` (the web service's session cookies, say):
    HMAC-SHA256 of the purpose under the form key, as hex. The same for every process on the
    ledger, never the key itself, and a different secret for each purpose."""
    return hmac.new(_key(session), f"grants:{purpose}".encode(), hashlib.sha256).hexdigest()


def key_text(session: Session) -> str:
    """The key as hex, for an export's ``form-key`` file only (an officer's or admin's)."""
    access.require(session, "export")
    return _key(session).hex()


def take_key(session: Session, secret: str) -> None:
    """Take an export's key (a restore): forms its ledger issued verify here from now on."""
    text = secret.strip()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise GrantsError(f"{KEY_FILE}: not a form key (64 hexadecimal digits) as exported")
    if session.scalar(select(FormKey.secret).order_by(FormKey.id.desc()).limit(1)) == text:
        return
    session.add(FormKey(secret=text, recorded_at=datetime.now().replace(microsecond=0)))


def _canonical(identity: Identity, display: dict[str, object]) -> bytes:
    return json.dumps(
        {"identity": identity.fields(), "display": display},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    ).encode()  # fmt: skip


def mac(key: bytes, identity: Identity, display: dict[str, object]) -> str:
    return hmac.new(key, _canonical(identity, display), hashlib.sha256).hexdigest()


# -- issuing ------------------------------------------------------------------------------


def issue(
    session: Session,
    identity: Identity,
    display: dict[str, object],
    actor: str,
    now: datetime,
) -> str:
    """Record a form as issued (once: the same form issued again the same day is the same
    record) and return its identity cell's text. An officer's (``issue``), or a recipient's
    own line's form, issued to them (they may file its returns and plans: ``import``)."""
    stream_id, line_id = _ids(session, identity)
    acting = access.actor_of(session)
    if acting is not None and not acting.may("issue") and acting.may("import"):
        access.require_line(session, "import", line_id)
    else:
        access.require(session, "issue")
    found = mac(_key(session), identity, display)
    if session.scalar(select(FormIssue.id).where(FormIssue.mac == found)) is None:
        session.add(
            FormIssue(
                mac=found, kind=identity.kind, stream_id=stream_id, line_id=line_id,
                year=identity.year, stage=identity.stage, recipient=identity.recipient or None,
                fingerprint=identity.fingerprint, issued_on=identity.issued_on,
                display=json.dumps(display, sort_keys=True, ensure_ascii=False), actor=actor,
                recorded_at=now,
            )
        )  # fmt: skip
        session.flush()
    return identity.text(found)


def of_return(session: Session, form: ReturnForm, today: date) -> Identity:
    """The identity of a return form issued ``today``."""
    return Identity(
        "return", form.stream, form.year, form.line, form.stage, form.fingerprint,
        recipient_code(session, form.line_id), today,
    )  # fmt: skip


def of_plan(session: Session, form: PlanForm, today: date) -> Identity:
    """The identity of a spending plan form issued ``today``."""
    return Identity(
        "plan", form.stream, form.year, form.line, "plan", form.fingerprint,
        recipient_code(session, form.line_id), today,
    )  # fmt: skip


def recipient_code(session: Session, line_id: int) -> str:
    """The code of the line's recipient organisation ("" for none)."""
    code = session.scalar(
        select(Organisation.code)
        .join(Line, Line.recipient_id == Organisation.id)
        .where(Line.id == line_id)
    )
    return code or ""


def _ids(session: Session, identity: Identity) -> tuple[int, int]:
    found = session.execute(
        select(Stream.id, Line.id)
        .join(Line, Line.stream_id == Stream.id)
        .where(Stream.code == identity.stream, Line.code == identity.line)
    ).first()
    if found is None:
        raise GrantsError(f"{identity.stream} has no line {identity.line!r}")
    return found[0], found[1]


# -- checking a received form ----------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What an identity cell proved: the identity (None if refused), the problem with the
    identity cell, and the display cells that differ from what was issued (reference,
    message)."""

    identity: Identity | None
    problem: str | None = None
    changed: tuple[tuple[str, str], ...] = ()


def check(
    session: Session,
    kind: str,
    value: object,
    display: dict[str, object],
    key: Callable[[Session], bytes] | None = None,
) -> Verdict:
    """Verify a received form's identity cell and its display cells as saved. ``key``: where
    the ledger's key comes from (default: read now); a command that checks many forms reads
    it once (`FormKeys`)."""
    parsed = parse(kind, value)
    if parsed is None:
        return Verdict(None, "the form's identity is missing or altered: use the form as "
                       "issued [E_TEMPLATE_MISMATCH]")  # fmt: skip
    identity, given = parsed
    # The cell exactly as the ledger writes it: any other spelling of the same fields (a year
    # written 2017/18, the MAC in capitals or without its hyphens) is an edit.
    if str(value) != identity.text(given):
        return Verdict(None, NOT_ISSUED)
    issued = session.execute(_ISSUED, {"mac": given}).first()
    if issued is None:  # never issued here: whatever MAC it carries, there is nothing to verify
        return Verdict(None, NOT_ISSUED)
    shown: dict[str, object] = json.loads(issued.display)
    expected = mac((key or _key)(session), identity, shown)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        if _same(session, issued, identity):
            return Verdict(None, RESTORED)
        return Verdict(None, NOT_ISSUED)
    changed = tuple(
        (ref, f"this cell shows {_shown(display.get(ref))} but the form was issued for "
              f"{_shown(value)}: this cell is the council's and locked; put your figures into "
              "a fresh copy of the form")
        for ref, value in shown.items()
        if not _equal(value, display.get(ref))
    )  # fmt: skip
    return Verdict(identity, None, changed)


# What a check reads of the form issued with a MAC (plain rows: no object is made for a form
# checked). Built once, the MAC bound at each execution: an import checks many forms.
_ISSUED = select(
    FormIssue.kind, FormIssue.stream_id, FormIssue.line_id, FormIssue.year, FormIssue.stage,
    FormIssue.recipient, FormIssue.fingerprint, FormIssue.issued_on, FormIssue.display,
).where(FormIssue.mac == bindparam("mac"))  # fmt: skip


class FormKeys:
    """The ledger's form key, read once for a command that checks many forms (an import of
    many returns): nothing a check or an import records changes the key, which only a
    restore (`take_key`) replaces."""

    def __init__(self) -> None:
        self._key: bytes | None = None

    def __call__(self, session: Session) -> bytes:
        if self._key is None:
            self._key = _key(session)
        return self._key


def _same(session: Session, issued: Any, identity: Identity) -> bool:
    """Whether the record issued with this MAC is of the form the cell shows (every field)."""
    codes = session.execute(
        select(Stream.code, Line.code)
        .join(Line, Line.stream_id == Stream.id)
        .where(Stream.id == issued.stream_id, Line.id == issued.line_id)
    ).first()
    return (
        issued.kind, *(codes or ("", "")), issued.year, issued.stage, issued.recipient or "",
        issued.fingerprint, issued.issued_on,
    ) == (
        identity.kind, identity.stream, identity.line, identity.year, identity.stage,
        identity.recipient, identity.fingerprint, identity.issued_on,
    )  # fmt: skip


# A long text of a locked cell is recorded as its SHA-256 (a form's record stays within a
# line of the books), marked by a NUL, which no cell can hold.
LONG_TEXT = 100
_DIGEST = "\x00sha256:"


def recorded(value: object) -> object:
    """A locked cell's value as recorded at issue: a long text as its digest."""
    if isinstance(value, str) and len(value) > LONG_TEXT:
        return _DIGEST + hashlib.sha256(value.encode()).hexdigest()
    return value


def _equal(issued: object, found: object) -> bool:
    if isinstance(issued, str) and issued.startswith(_DIGEST):
        return isinstance(found, str) and recorded(found) == issued
    if isinstance(issued, int | float) and not isinstance(issued, bool):
        return (
            isinstance(found, int | float)
            and not isinstance(found, bool)
            and math.isfinite(found)
            and round(found * 100) == round(issued * 100)
        )
    return found == issued


def _shown(value: object) -> str:
    if value is None or value == "":
        return "nothing"
    if isinstance(value, str) and value.startswith(_DIGEST):
        return "the text it was issued with"
    if isinstance(value, str) and len(value) > LONG_TEXT:
        return repr(value[:LONG_TEXT] + "…")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value) if isinstance(value, str) else str(value)


__all__ = [
    "FORMATS", "KEY_FILE", "NOT_ISSUED", "PLAN_FORMAT", "RESTORED", "RETURN_FORMAT",
    "FormKeyMissing", "FormKeys", "Identity", "Verdict", "check", "derived_secret", "ensure_key",
    "issue", "key_text", "mac", "new_key", "of_plan", "of_return", "parse", "recipient_code",
    "recorded", "take_key",
]  # fmt: skip
