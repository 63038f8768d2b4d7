"""Typed models. Money columns are integer pence (``*_pence``); see grants.money.

Every table of record (grants.db.records) is append-only: the migrations install triggers
that refuse UPDATE, DELETE and TRUNCATE, a correction is a new record (a reversing entry, a
superseding return), and every record is sealed in the hash chain (``seal``).

The models are declared in modules by what their tables are about, all on one ``Base`` (one
``MetaData``, one naming convention), and every one is named here: import them from
``grants.db.models``. The modules are imported in the order the tables are declared in.
"""

# No `from __future__ import annotations`, here or in any module of this package: each
# Mapped[...] is made as its class is, where SQLAlchemy would otherwise evaluate its text
# again (a tenth of the time the models take to import, which every command pays).
# Imported in the order the tables are declared in, which Base.metadata.tables keeps.
# isort: off
from grants.db.models.base import NAMING, Base, Pence, Provenance
from grants.db.models.streams import Line, Organisation, Stream
from grants.db.models.journal import (
    ENTRY_KINDS,
    GIVEN_REF,
    SCHEDULE_BASES,
    STATEMENT_KINDS,
    Account,
    Claim,
    Commitment,
    Entry,
    Instalment,
    MatchFunding,
    Posting,
    Statement,
)
from grants.db.models.growth import (
    Indicator,
    OutputActual,
    OutputTarget,
    ProjectClaim,
    SpendProfile,
)
from grants.db.models.programmes import Profile, ProfileAmount, ProgrammeVersion
from grants.db.models.returns import (
    Attachment,
    PlanAgreement,
    PlanFiling,
    PlanLine,
    ReturnFigure,
    ReturnFiling,
    ReturnStage,
)
from grants.db.models.chain import Seal, Setting, StreamText
from grants.db.models.people import (
    AUDIT_KINDS,
    PERSON_EVENTS,
    ROLES,
    AuditEvent,
    Credential,
    Person,
    PersonEvent,
)
from grants.db.models.proofs import FormIssue, FormKey, VerifiedHead
from grants.db.models.sessions import SESSION_ENDS, SignInFailure, WebSession
# isort: on

__all__ = [
    "AUDIT_KINDS",
    "ENTRY_KINDS",
    "GIVEN_REF",
    "NAMING",
    "PERSON_EVENTS",
    "ROLES",
    "SCHEDULE_BASES",
    "SESSION_ENDS",
    "STATEMENT_KINDS",
    "Account",
    "Attachment",
    "AuditEvent",
    "Base",
    "Claim",
    "Commitment",
    "Credential",
    "Entry",
    "FormIssue",
    "FormKey",
    "Indicator",
    "Instalment",
    "Line",
    "MatchFunding",
    "Organisation",
    "OutputActual",
    "OutputTarget",
    "Pence",
    "Person",
    "PersonEvent",
    "PlanAgreement",
    "PlanFiling",
    "PlanLine",
    "Posting",
    "Profile",
    "ProfileAmount",
    "ProgrammeVersion",
    "ProjectClaim",
    "Provenance",
    "ReturnFigure",
    "ReturnFiling",
    "ReturnStage",
    "Seal",
    "Setting",
    "SignInFailure",
    "SpendProfile",
    "Statement",
    "Stream",
    "StreamText",
    "VerifiedHead",
    "WebSession",
]
