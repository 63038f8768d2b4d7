"""The browser tests' harness: a ledger built as `make demo` builds it, `grants serve` on it
in a subprocess, and headless Chromium (Debian's package, driven by Playwright) that
screenshots every page it opens and runs axe-core on it.

Chromium is Debian's (`/usr/bin/chromium`, or `GRANTS_CHROMIUM`); Playwright's own browser
builds are never downloaded. Where Chromium or Playwright is missing the browser tests skip
with the reason, except with CI=true, where that is a failure (as for PostgreSQL).
axe-core comes bundled in the PyPI package axe-playwright-python, so nothing is fetched from
npm when the tests run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grants.db.engine import make_engine
from grants.db.migrate import upgrade
from tests.conftest import BOOKS, IN_CI, OFFICER, PASSWORD, ROOT, Grants, add_person

CHROMIUM = os.environ.get("GRANTS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "out" / "web"

# WCAG 2.2 AA, as axe-core tags its rules: every level-A and level-AA rule up to 2.2.
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# The people of the test ledger (the first person, admin and officer, is conftest's OFFICER).
RECIPIENT = "cherwell-csp"
RECIPIENT_ORG = "CHERWELL-CSP"
VIEWER = "cabinet"
PASSWORDS = {OFFICER: PASSWORD, RECIPIENT: "cherwell-test-password", VIEWER: "cabinet-test-pw"}


def unavailable(reason: str) -> None:
    """Skip (or, under CI, fail) because the browser cannot be driven here."""
    if IN_CI:
        pytest.fail(f"CI=true needs the browser tests to run: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium() -> str:
    """The path of Debian's Chromium, or skip (fail under CI) saying how to get it."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` (or set GRANTS_CHROMIUM)"
        )
    return CHROMIUM


def build_ledger(folder: Path) -> str:
    """A SQLite ledger with the Oxfordshire books and the demo's people: the officer (the
    ledger's first person), Cherwell's recipient and a viewer, each with a password set here."""
    url = f"sqlite:///{folder / 'oxfordshire.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    add_person(url, OFFICER, ["admin", "officer"], PASSWORDS[OFFICER])
    loaded = Grants(url)("ledger", "load", str(BOOKS))
    assert loaded.exit_code == 0, loaded.output
    add_person(url, RECIPIENT, ["recipient"], PASSWORDS[RECIPIENT], [RECIPIENT_ORG])
    add_person(url, VIEWER, ["viewer"], PASSWORDS[VIEWER])
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def grants_command() -> list[str]:
    """The `grants` installed beside this Python (the project's virtual environment)."""
    script = Path(sys.executable).with_name("grants")
    if script.exists():
        return [str(script)]
    found = shutil.which("grants")
    assert found, "the grants command is not installed: `make .venv/.installed`"
    return [found]


@contextmanager
def serving(url: str, folder: Path, wait: float = 30.0, options: tuple[str, ...] = ()
            ) -> Iterator[str]:  # fmt: skip
    """`grants serve` on the ledger at ``url``, on 127.0.0.1 and a free port, with
    ``options`` (`--workers 2`), until the block ends; yields its base address once it
    answers."""
    port = free_port()
    log = folder / "serve.log"
    env = {**os.environ, "GRANTS_USER": OFFICER, "GRANTS_PASSWORD": PASSWORDS[OFFICER]}
    env.pop("GRANTS_ACTOR", None)
    command = [*grants_command(), "--database", url, "serve", "--host", "127.0.0.1",
               "--port", str(port), *options]  # fmt: skip
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            if server.poll() is not None:
                raise AssertionError(
                    f"grants serve stopped (exit {server.returncode}):\n{log.read_text()}"
                )
            try:
                with urllib.request.urlopen(f"{base}/sign-in", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"grants serve did not answer in {wait:.0f}s:\n"
                                     f"{log.read_text()}")  # fmt: skip
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def axe_report(violations: list[dict[str, Any]]) -> str:
    """axe-core's violations, one paragraph each: rule, impact, what it asks, where."""
    lines = []
    for rule in violations:
        lines.append(f"{rule['id']} ({rule.get('impact')}): {rule['help']} <{rule['helpUrl']}>")
        for node in rule["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


@dataclass
class Looker:
    """Screenshots each page it is shown and checks it with axe-core (WCAG 2.2 AA)."""

    folder: Path = SCREENSHOTS
    seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def check(self, page: Any, name: str) -> None:
        """Write the page to out/web/NAME.png, then fail if axe-core finds any violation."""
        assert name not in self.seen, f"two screenshots named {name}"
        self.seen.append(name)
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        options = {"runOnly": {"type": "tag", "values": WCAG_22_AA},
                   "resultTypes": ["violations"]}  # fmt: skip
        violations = self.axe.run(page, options=options).response["violations"]
        assert not violations, f"axe-core on {name} ({page.url}):\n{axe_report(violations)}"
