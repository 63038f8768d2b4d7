"""People in the books: how `grants ledger export` writes the ledger's people, their roles,
their passwords' Argon2id hashes and the audit log, so that an export restores the whole
ledger (never a password: only the hashes the ledger holds).

    2026-12-03 person jo
      name: "Jo Bloggs"
      actor: admin
      recorded: 2026-12-03T09:00:00
    2026-12-03 person-event jo grant
      role: recipient
      org: CHERWELL
      actor: admin
      recorded: 2026-12-03T09:00:00
    2026-12-03 credential jo
      hash: "$argon2id$v=19$m=65536,t=3,p=4$..."
      actor: admin
      recorded: 2026-12-03T09:00:00
    2026-12-03 audit refused jo
      person: jo
      action: record
      detail: "jo is a viewer: ..."
      recorded: 2026-12-03T09:01:00

People are added and changed with `grants users`, not by books: these records are taken
only into an empty ledger (an export being restored); loaded anywhere else, each must be
one the ledger already holds (an export loaded back into its own ledger changes nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from grants.db.models import (
    AUDIT_KINDS,
    PERSON_EVENTS,
    ROLES,
    AuditEvent,
    Credential,
    Person,
    PersonEvent,
)
from grants.errors import GrantsError
from grants.ledger.parser import Directive

if TYPE_CHECKING:
    from grants.ledger.validate import Books
    from grants.ledger.write import Writer

KEYWORDS = ("person", "person-event", "credential", "audit")
ARITY = {"person": 1, "person-event": 2, "credential": 1, "audit": 2}
USAGE = {
    "person": "DATE person LOGIN",
    "person-event": "DATE person-event LOGIN KIND",
    "credential": "DATE credential LOGIN",
    "audit": "DATE audit KIND LOGIN",
}
META = {
    "person": {"name", "actor", "recorded"},
    "person-event": {"role", "org", "actor", "recorded"},
    "credential": {"hash", "actor", "recorded"},
    "audit": {"person", "action", "detail", "recorded"},
}
TABLES = {"person": "person", "person-event": "person_event", "credential": "credential",
          "audit": "audit_event"}  # fmt: skip


def validate(b: Books, d: Directive) -> None:
    from grants.services.people import login_text

    recorded = b.recorded(d)
    if recorded is None:
        return
    login = d.args[1] if d.keyword == "audit" else d.args[0]
    rec: dict[str, Any] = {"recorded_at": recorded, "actor": d.meta.get("actor", b.actor)}
    try:
        rec["login"] = login if d.keyword == "audit" else login_text(login)
    except GrantsError as exc:
        b.error(d, str(exc))
        return
    if d.keyword == "person":
        rec["name"] = d.meta.get("name")
    elif d.keyword == "person-event":
        rec["kind"] = d.args[1]
        rec["role"] = d.meta.get("role")
        rec["org"] = d.meta.get("org")
        if rec["kind"] not in PERSON_EVENTS:
            b.error(d, f"{rec['kind']!r} is not something done to a person: give one of "
                       f"{', '.join(PERSON_EVENTS)}")  # fmt: skip
            return
        if rec["role"] is not None and rec["role"] not in ROLES:
            b.error(d, f"role {rec['role']!r} is not one of {', '.join(ROLES)}", "role")
            return
    elif d.keyword == "credential":
        rec["hash"] = d.meta.get("hash", "")
        if not rec["hash"].startswith("$argon2"):
            b.error(d, "hash: a credential is the Argon2 hash the ledger made, as exported",
                    "hash")  # fmt: skip
            return
    else:
        rec["kind"] = d.args[0]
        rec["person"] = d.meta.get("person")
        rec["action"] = d.meta.get("action", "")
        rec["detail"] = d.meta.get("detail")
        if rec["kind"] not in AUDIT_KINDS:
            b.error(d, f"{rec['kind']!r} is not a kind of audit record: give one of "
                       f"{', '.join(AUDIT_KINDS)}")  # fmt: skip
            return
    b.people.append((d, rec))


def write(w: Writer) -> None:
    """Each record in the books' order: new ones only when restoring into an empty ledger."""
    if not w.books.people:
        return
    s = w.s
    persons = {p.key: p for p in s.scalars(select(Person))}
    from grants.services.people import login_key

    for d, rec in w.books.people:
        kind = d.keyword
        if kind == "audit":
            person_id = _person_id(w, d, persons, rec["person"]) if rec["person"] else None
            if rec["person"] and person_id is None:
                continue
            values: dict[str, Any] = {"recorded_at": rec["recorded_at"], "person_id": person_id,
                                      "login": rec["login"], "kind": rec["kind"],
                                      "action": rec["action"], "detail": rec["detail"]}  # fmt: skip
            _take(w, d, AuditEvent, values)
            continue
        if kind == "person":
            key = login_key(rec["login"])
            existing = persons.get(key)
            if existing is not None:
                w.report.skipped["person"] += 1
                continue
            if not _restoring(w, d):
                continue
            person = Person(key=key, login=rec["login"], name=rec["name"], day=d.day,
                            recorded_at=rec["recorded_at"], actor=rec["actor"])  # fmt: skip
            s.add(person)
            s.flush()
            persons[key] = person
            w.made(d, "person")
            w.report.created["person"] += 1
            continue
        person_id = _person_id(w, d, persons, rec["login"])
        if person_id is None:
            continue
        if kind == "credential":
            values = {"person_id": person_id, "hash": rec["hash"], "actor": rec["actor"],
                      "recorded_at": rec["recorded_at"]}  # fmt: skip
            _take(w, d, Credential, values)
        else:
            org_id = None
            if rec["org"] is not None:
                org_id = w.orgs.get(rec["org"])
                if org_id is None:
                    w.error(d, f"org {rec['org']!r} is not an organisation declared with `org`")
                    continue
            values = {"person_id": person_id, "kind": rec["kind"], "role": rec["role"],
                      "organisation_id": org_id, "actor": rec["actor"],
                      "recorded_at": rec["recorded_at"]}  # fmt: skip
            _take(w, d, PersonEvent, values)


def _person_id(w: Writer, d: Directive, persons: dict[str, Person], login: str) -> int | None:
    from grants.services.people import login_key

    person = persons.get(login_key(login))
    if person is None:
        w.error(d, f"there is no person {login!r}: a `person` record must come first")
        return None
    return person.id


def _restoring(w: Writer, d: Directive) -> bool:
    if not w.was_empty:
        w.error(d, f"{d.keyword}: people are added and changed with `grants users`, not by "
                   "books; an export's people are restored only into an empty ledger")  # fmt: skip
        return False
    return True


def _take(w: Writer, d: Directive, model: Any, values: dict[str, Any]) -> None:
    """Record ``values`` (into an empty ledger), or skip them if the ledger holds them already."""
    same = [getattr(model, k) == v for k, v in values.items() if v is not None]
    found = w.s.scalars(select(model.id).where(*same)).first()
    if found is not None and not w.was_empty:
        w.report.skipped[d.keyword] += 1
        return
    if not _restoring(w, d):
        return
    w.s.add(model(**values))
    w.s.flush()
    w.made(d, TABLES[d.keyword])
    w.report.created[d.keyword] += 1


# -- the export ---------------------------------------------------------------------------


def _stamp(value: str) -> str:
    return value.replace(" ", "T")


def printers(quote: Any, meta: Any) -> dict[str, Any]:
    """The export's writer of each table's records (with the printer's quote and meta)."""
    logins: dict[int, str] = {}

    def person(r: dict[str, Any], n: Any) -> list[str]:
        logins[r["id"]] = r["login"]
        return [f"{r['day']} person {quote(r['login'])}",
                *meta([("name", r["name"]), ("actor", r["actor"]),
                       ("recorded", _stamp(r["recorded_at"]))])]  # fmt: skip

    def event(r: dict[str, Any], n: Any) -> list[str]:
        org = n.orgs[r["organisation_id"]] if r["organisation_id"] else None
        return [f"{r['recorded_at'][:10]} person-event {quote(logins[r['person_id']])} "
                f"{r['kind']}",
                *meta([("role", r["role"]), ("org", org), ("actor", r["actor"]),
                       ("recorded", _stamp(r["recorded_at"]))])]  # fmt: skip

    def credential(r: dict[str, Any], n: Any) -> list[str]:
        return [f"{r['recorded_at'][:10]} credential {quote(logins[r['person_id']])}",
                *meta([("hash", r["hash"]), ("actor", r["actor"]),
                       ("recorded", _stamp(r["recorded_at"]))])]  # fmt: skip

    def audit(r: dict[str, Any], n: Any) -> list[str]:
        person_login = logins[r["person_id"]] if r["person_id"] else None
        return [f"{r['recorded_at'][:10]} audit {r['kind']} {quote(r['login'])}",
                *meta([("person", person_login), ("action", r["action"]),
                       ("detail", r["detail"]),
                       ("recorded", _stamp(r["recorded_at"]))])]  # fmt: skip

    return {"person": person, "person_event": event, "credential": credential,
            "audit_event": audit}  # fmt: skip


__all__ = ["ARITY", "KEYWORDS", "META", "USAGE", "printers", "validate", "write"]
