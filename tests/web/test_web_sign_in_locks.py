"""Sign-ins of one login that succeed at the same moment (the web service's sign-in rate
limit, grants.services.sessions) never deadlock one another, on either engine."""

from __future__ import annotations

import threading

from sqlalchemy import event, select

from grants.db.models import SignInFailure
from grants.services import sessions
from grants.web.ledger import Ledger

LOGIN = "officer"


def test_sign_ins_of_one_login_succeeding_together_both_go_through(db_url: str) -> None:
    """Two sign-ins as one login, each counted (and committed) before its password was
    checked, succeed together: each forgets its own count and the other's as the login's.
    Each waits (up to two seconds), as it first changes another's count, for the other to get
    as far. Deleting its own count first and changing the login's others after let each hold
    the row the other wanted next: PostgreSQL found a deadlock and failed one sign-in with a
    500 page (the web load benchmark met it, ten people signing in as one login). Now the
    second waits for the first's locks before it changes anything, the first goes on once its
    wait runs out, and both go through, leaving no count of the login."""
    ledger = Ledger(db_url)
    try:
        with ledger.changing() as session:
            first = sessions.failed(session, LOGIN)
        with ledger.changing() as session:
            second = sessions.failed(session, LOGIN)
        together = threading.Barrier(2, timeout=2)

        @event.listens_for(ledger.engine, "before_cursor_execute")
        def meet(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if statement.lstrip().upper().startswith("UPDATE SIGN_IN_FAILURE"):
                try:
                    together.wait()
                except threading.BrokenBarrierError:
                    pass  # the other was held elsewhere (waiting for this one's rows)

        failures: list[BaseException] = []

        def succeed(attempted: int) -> None:
            try:
                with ledger.changing() as session:
                    sessions.succeeded(session, attempted)
            except BaseException as exc:  # the test reports whatever a thread met
                failures.append(exc)

        threads = [threading.Thread(target=succeed, args=(n,)) for n in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, [str(f).splitlines()[0] for f in failures]
        with ledger.changing() as session:
            left = session.scalars(select(SignInFailure.id).where(SignInFailure.login == LOGIN))
            assert list(left) == []
    finally:
        ledger.dispose()
