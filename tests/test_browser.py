"""The web service in a real browser: headless Chromium against `grants serve` on 127.0.0.1.

A recipient signs in, downloads its mid-year return form, uploads it with a mistake, reads
the cell-named error, fixes it, files it, reads its receipt and finds it in its history;
then fills the same return in online, a mistake first (the field named, what was typed
kept), fixes it, files it and reads its receipt and history; another
organisation's pages and forms answer 404; the officer sees the filing on the dashboard
and reconcile's findings change; a viewer reaches the dashboard and reports but no officer
page. Every page is screenshotted to out/web/NAME.png and checked with axe-core against
WCAG 2.2 AA: zero violations.

One server, one browser and one browser context per person for the whole module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.browser import (
    PASSWORDS,
    RECIPIENT,
    VIEWER,
    Looker,
    build_ledger,
    chromium,
    serving,
    unavailable,
)
from tests.conftest import OFFICER

pytestmark = pytest.mark.browser

STREAM, YEAR, LINE, OTHER_LINE = "PCC-CSF", "2017-18", "CHERWELL", "OXFORD"
DASHBOARD = f"/dashboard/{STREAM}/{YEAR}"
MISSING = "the mid-year return, due 31 October 2017, is missing"
SPEND = "12,345.67"
FILED = "cherwell-<i>mid-year<img src=x onerror=alert(1)>.xlsx"  # no "/": it is a file name
# Requests a page may make and be refused, known and written down in docs/web.md ("Known
# gaps"): none. Any asset that answers 404 fails the page.
KNOWN_MISSING: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    try:
        import axe_playwright_python  # noqa: F401  (axe-core, for Looker)
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"a test dependency is missing ({exc}): `pip install -e '.[test]'`")
    executable = chromium()
    with sync_playwright() as driver:
        yield driver, executable


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`grants serve` on a fresh Oxfordshire ledger, for the whole module."""
    folder = tmp_path_factory.mktemp("web")
    with serving(build_ledger(folder), folder) as base:
        yield base


@pytest.fixture(scope="module")
def looker() -> Looker:
    return Looker()


class People:
    """One browser context per person, each signed in once, against one server."""

    def __init__(self, browser: Any, base: str, looker: Looker) -> None:
        self.browser, self.base, self.looker = browser, base, looker
        self.pages: dict[str, Any] = {}

    def fresh(self) -> Any:
        """A page in a new context, signed in as no one."""
        context = self.browser.new_context(base_url=self.base, accept_downloads=True)
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.errors = []
        page.on("console", lambda message: message.type == "error" and page.errors.append(
            message.text))  # fmt: skip
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        # A stylesheet, font or image the page asks for and does not get (the page itself
        # may be a 404 on purpose, and a download ends its navigation as "aborted").
        page.on("response", lambda answer: answer.status >= 400
                and answer.request.resource_type != "document"
                and page.errors.append(f"{answer.status} for {answer.url}"))  # fmt: skip
        page.on("requestfailed", lambda request: request.resource_type != "document"
                and page.errors.append(f"{request.url} failed: {request.failure}"))  # fmt: skip
        return page

    def __call__(self, login: str) -> Any:
        """A page signed in as ``login``."""
        if login not in self.pages:
            page = self.fresh()
            sign_in(page, login, PASSWORDS[login])
            assert "/sign-in" not in page.url, f"{login} was not signed in: {text(page)}"
            self.pages[login] = page
        return self.pages[login]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture(scope="module")
def people(playwright: Any, server: str, looker: Looker) -> Iterator[People]:
    driver, executable = playwright
    browser = driver.chromium.launch(executable_path=executable)
    everyone = People(browser, server, looker)
    try:
        yield everyone
    finally:
        everyone.close()
        browser.close()


def sign_in(page: Any, login: str, password: str) -> None:
    page.goto("/sign-in")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        submit(page, "form:has(input[name=password])")


def submit(page: Any, form: str) -> None:
    page.locator(f"{form} button, {form} input[type=submit]").first.click()


def text(page: Any) -> str:
    return str(page.inner_text("body"))


def visit(people: People, page: Any, path: str, name: str, status: int = 200) -> str:
    """Open ``path``, check its status, screenshot and axe it; the page's text."""
    answer = page.goto(path)
    assert answer is not None and answer.status == status, (
        f"{path}: {answer.status if answer else None}, not {status}: {text(page)[:500]}"
    )
    check(people, page, name)
    return text(page)


def check(people: People, page: Any, name: str) -> None:
    """Screenshot and axe-core; and no script error, CSP violation or missing asset (the
    console's note of a 4xx page's own status aside)."""
    people.looker.check(page, name)
    errors = [
        e
        for e in page.errors
        if not e.startswith("Failed to load resource: the server")
        and not any(known in e for known in KNOWN_MISSING)
    ]
    page.errors.clear()
    assert not errors, f"{name}: the browser's console says {errors}"
    assert page.locator("h1").count() == 1, f"{name}: not one <h1>"
    assert page.title().strip(), f"{name}: no <title>"
    # The skip link and an error summary's links move the reader within the page: each
    # must lead to something there (axe-core does not follow them).
    broken = page.eval_on_selector_all(
        "a[href^='#']",
        "links => links.map(a => a.getAttribute('href'))"
        "  .filter(h => h.length > 1 && !document.getElementById(h.slice(1)))",
    )
    assert not broken, f"{name}: links to nothing on the page: {broken}"
    if page.locator(".govuk-error-summary").count():
        assert page.title().startswith("Error: "), f"{name}: an error page's title {page.title()!r}"


def links(page: Any, pattern: str) -> list[str]:
    """The hrefs on the page matching ``pattern`` (a regular expression, any case)."""
    found = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    return [href for href in found if re.search(pattern, href, re.IGNORECASE)]


def fill(form: Path, spend: object, to: Path) -> Path:
    """The mid-year form filled as Cherwell would, with ``spend`` typed as spend to date."""
    book = openpyxl.load_workbook(form)
    sheet = book["Return"]
    assert str(sheet["B3"].value).split("|")[3] == LINE, "not Cherwell's form"
    sheet["B9"] = "Community Safety Officer, Cherwell District Council"
    sheet["B10"] = date(2017, 10, 20)
    sheet["D13"] = spend
    sheet["E13"] = "Two PCSO-led youth diversion schemes ran over the summer in Banbury."
    book.save(to)
    return to


def upload(people: People, page: Any, workbook: Path, name: str) -> str:
    page.goto("/upload")
    page.set_input_files("input[name=file]", str(workbook))
    with page.expect_navigation():
        submit(page, "form:has(input[name=file])")
    check(people, page, name)
    return text(page)


def findings(page: Any) -> str:
    page.goto(DASHBOARD)
    return text(page)


def test_sign_in_refuses_a_wrong_password(people: People) -> None:
    page = people.fresh()
    visit(people, page, "/sign-in", "sign-in")
    page.keyboard.press("Tab")
    first = page.evaluate("[document.activeElement.textContent, document.activeElement.hash]")
    assert first == ["Skip to main content", "#main-content"], f"Tab first reaches {first}"
    page.keyboard.press("Tab")
    check(people, page, "sign-in-focus")  # the next stop (the header link), to see focus show
    sign_in(page, RECIPIENT, "not-the-password")
    assert "/sign-in" in page.url
    check(people, page, "sign-in-refused")
    assert page.locator(".govuk-error-summary").count() == 1, text(page)
    page.context.close()


def test_recipient_files_its_mid_year_return(people: People, tmp_path: Path) -> None:
    officer = people(OFFICER)
    before = visit(people, officer, DASHBOARD, "officer-dashboard-before")
    assert "CHERWELL" in before.upper() and MISSING in before, before
    visit(people, officer, "/dashboard", "officer-dashboards")

    recipient = people(RECIPIENT)
    home = visit(people, recipient, "/", "recipient-home")
    assert "Cherwell" in home and "overdue" in home.lower(), home
    assert "Oxford City" not in home, "the recipient sees another organisation's line"
    own = links(recipient, rf"/lines/{STREAM}/{YEAR}/{LINE}$")
    assert own, f"no link to Cherwell's {YEAR} line on the home page"
    said = recipient.eval_on_selector_all(
        "main li:has(.govuk-tag)", "es => es.map(e => e.innerText)"
    )
    assert said and all(s.lower().count("overdue") <= 1 for s in said), said  # each said once
    visit(people, recipient, own[0], "recipient-line")
    said = recipient.eval_on_selector_all(
        "main td:has(.govuk-tag)", "es => es.map(e => e.innerText)"
    )
    assert said and all(s.lower().count("overdue") <= 1 for s in said), said

    form_link = links(recipient, rf"/forms/{STREAM}/{YEAR}/{LINE}/mid-year\.xlsx$")
    assert form_link, "no link to Cherwell's mid-year form"
    with recipient.expect_download() as downloading:
        recipient.click(f"a[href='{form_link[0]}']")
    issued = tmp_path / "issued.xlsx"
    downloading.value.save_as(issued)

    # A mistake: words where the spend to date goes. Nothing is recorded, and the error
    # names the cell and says what to do.
    mistake = fill(issued, "about twelve thousand", tmp_path / "cherwell-mistake.xlsx")
    refused = upload(people, recipient, mistake, "recipient-upload-refused")
    summary = recipient.locator(".govuk-error-summary")
    assert summary.count() == 1, refused
    assert "D13" in summary.inner_text() and "spend" in summary.inner_text().lower(), refused
    history = visit(people, recipient, "/history", "recipient-history-before")
    assert "cherwell-mistake.xlsx" not in history and SPEND not in history, history

    # Markup in the file's name, which the pages show: it must show as typed, never as markup.
    fixed = fill(issued, 12345.67, tmp_path / FILED)
    filed = upload(people, recipient, fixed, "recipient-upload-filed")
    assert recipient.locator(".govuk-error-summary").count() == 0, filed
    # POST, redirect, GET: the receipt has a page of its own.
    assert re.search(r"/filings/return-[0-9]+$", recipient.url), recipient.url
    assert "Return filed" in filed and SPEND in filed and FILED in filed, filed
    history = visit(people, recipient, "/history", "recipient-history")
    assert FILED in history and SPEND in history, history
    assert recipient.locator("main i, main img").count() == 0, "the file's name became markup"

    # The officer sees it: the return is no longer missing, it is late; its spend shows.
    after = visit(people, officer, DASHBOARD, "officer-dashboard-after")
    assert after.count(MISSING) == before.count(MISSING) - 1, after
    assert "after it was due (31 October 2017)" in after, after
    assert SPEND in after and SPEND not in before, after
    filings = visit(people, officer, "/history", "officer-history")
    assert FILED in filings and RECIPIENT in filings, filings
    assert officer.locator("main i, main img").count() == 0, "the file's name became markup"


def test_recipient_files_a_return_online(people: People) -> None:
    """The same return filled in on the page: a mistake first, named by its field with the
    typed value kept; then filed, with its receipt, and in the history."""
    recipient = people(RECIPIENT)
    visit(people, recipient, f"/lines/{STREAM}/{YEAR}/{LINE}", "recipient-line-online")
    online = links(recipient, rf"/lines/{STREAM}/{YEAR}/{LINE}/mid-year/return$")
    assert online, "no link to fill in the mid-year return online"
    page = visit(people, recipient, online[0], "online-return")
    assert "Fill in the mid-year return" in page, page
    recipient.fill("#spend-1", "about 13 grand")
    recipient.fill("#completed-by", "Community Safety Officer, Cherwell District Council")
    recipient.fill("#completed-on", "20/10/2017")
    with recipient.expect_navigation():
        submit(recipient, "#return-form")
    check(people, recipient, "online-return-refused")
    summary = recipient.locator(".govuk-error-summary").inner_text()
    assert "Spend to date, line 1" in summary and "is not an amount" in summary, summary
    assert recipient.input_value("#spend-1") == "about 13 grand"
    recipient.click(".govuk-error-summary a[href='#spend-1']")
    assert recipient.evaluate("document.activeElement.id") == "spend-1"
    history = visit(people, recipient, "/history", "recipient-history-online-before")
    assert "online return by" not in history, history

    recipient.goto(online[0])
    recipient.fill("#spend-1", "£13,000.00")
    with recipient.expect_navigation():
        submit(recipient, "#return-form")
    check(people, recipient, "online-return-filed")
    assert re.search(r"/filings/return-[0-9]+$", recipient.url), recipient.url
    receipt = text(recipient)
    assert "Return filed" in receipt and "13,000.00" in receipt, receipt
    number = recipient.url.rsplit("-", 1)[1]
    history = visit(people, recipient, "/history", "recipient-history-online")
    assert f"return #{number}" in history and f"online return by {RECIPIENT}" in history, history
    # Another organisation's receipt and online return are not found.
    for path in (f"/lines/{STREAM}/{YEAR}/{OTHER_LINE}/mid-year/return",):
        answer = recipient.context.request.get(path)
        assert answer.status == 404, f"{path}: {answer.status}"
    seen = visit(people, people(OFFICER), f"/filings/return-{number}", "officer-receipt")
    assert "Return filed" in seen, seen


def test_recipient_cannot_reach_another_organisation(people: People) -> None:
    recipient = people(RECIPIENT)
    visit(people, recipient, f"/lines/{STREAM}/{YEAR}/{OTHER_LINE}", "recipient-other-line", 404)
    for path in (
        f"/lines/{STREAM}/{YEAR}/NO-SUCH-LINE",
        f"/forms/{STREAM}/{YEAR}/{OTHER_LINE}/mid-year.xlsx",
        f"/forms/{STREAM}/{YEAR}/{OTHER_LINE}/plan.xlsx",
    ):
        answer = recipient.context.request.get(path)
        assert answer.status == 404, f"{path}: {answer.status}"
        assert not answer.body().startswith(b"PK"), f"{path} gave a workbook"
    for path in ("/dashboard", DASHBOARD):
        answer = recipient.context.request.get(path)
        assert answer.status == 403, f"the recipient reached {path}: {answer.status}"


def test_viewer_reaches_the_dashboard_and_reports_only(people: People) -> None:
    viewer = people(VIEWER)
    visit(people, viewer, "/dashboard", "viewer-dashboards")
    reports = links(viewer, r"^/reports/[^/]+\.xlsx$")
    assert reports, "no report to download on the dashboard"
    workbook = viewer.context.request.get(reports[0])
    assert workbook.status == 200 and workbook.body().startswith(b"PK"), reports[0]
    board = visit(people, viewer, DASHBOARD, "viewer-dashboard")
    assert "Cherwell" in board or "CHERWELL" in board, board

    answer = viewer.goto("/upload")
    assert answer is not None and answer.status == 403, f"/upload: {answer.status}"
    check(people, viewer, "viewer-refused")
    for path in ("/history", f"/lines/{STREAM}/{YEAR}/{LINE}"):
        answer = viewer.context.request.get(path)
        assert answer.status == 403, f"the viewer reached {path}: {answer.status}"
    # A form is issued to whoever takes it: the service refuses a viewer, as it does a
    # recipient asking for another organisation's line, without saying whether it exists.
    form = viewer.context.request.get(f"/forms/{STREAM}/{YEAR}/{LINE}/mid-year.xlsx")
    assert form.status in (403, 404) and not form.body().startswith(b"PK"), form.status


def test_officer_drills_down_and_records_a_payment(people: People) -> None:
    """The officer opens the entries behind Cherwell's allocation, records a payment through
    the form (words in the amount first: refused, nothing recorded), and sees the
    dashboard's figure change and open the new entry."""
    officer = people(OFFICER)
    board = visit(people, officer, DASHBOARD, "officer-dashboard-figures")
    allocated = links(officer, rf"/entries\?figure=allocated&line={LINE}$")
    assert allocated, f"no drill-down from {LINE}'s allocation: {board[:500]}"
    entries = visit(people, officer, allocated[0], "officer-figure-entries")
    assert "Total" in entries and "oxfordshire" in entries.lower(), entries
    officer.goto(DASHBOARD)
    paid_before = officer.locator(f"a[href$='figure=paid&line={LINE}']").inner_text()

    visit(people, officer, f"/record/payment?stream={STREAM}&year={YEAR}&line={LINE}",
          "officer-record-payment")  # fmt: skip
    officer.fill("input[name=amount]", "a thousand pounds")
    officer.fill("input[name=reason]", "Quarter 3 grant")
    with officer.expect_navigation():
        submit(officer, "form[action='/record/payment']")
    check(people, officer, "officer-record-payment-refused")
    summary = officer.locator(".govuk-error-summary")
    assert summary.count() == 1 and "amount" in summary.inner_text().lower(), text(officer)
    assert officer.locator("#amount-error").count() == 1
    officer.goto(DASHBOARD)
    assert officer.locator(f"a[href$='figure=paid&line={LINE}']").inner_text() == paid_before

    officer.goto(f"/record/payment?stream={STREAM}&year={YEAR}&line={LINE}")
    officer.fill("input[name=amount]", "1,000")
    officer.fill("input[name=reason]", "Quarter 3 grant")
    with officer.expect_navigation():
        submit(officer, "form[action='/record/payment']")
    check(people, officer, "officer-recorded")
    done = text(officer)
    assert "Recorded" in done and "£1,000.00" in done, done
    board = visit(people, officer, DASHBOARD, "officer-dashboard-paid")
    paid = officer.locator(f"a[href$='figure=paid&line={LINE}']")
    assert paid.inner_text() != paid_before, board
    paid.click()
    officer.wait_for_load_state()
    check(people, officer, "officer-paid-entries")
    shown = text(officer)
    assert "Quarter 3 grant" in shown and "web: recorded by officer on /record/payment" in shown
    visit(people, officer, "/record/allocation", "officer-record-allocation")
    visit(people, officer, f"{DASHBOARD}?as-of=2017-02-30", "officer-dashboard-bad-day", 400)
    chain = visit(people, officer, f"{DASHBOARD}/chain", "officer-chain")
    assert "Chain" in chain and "£1,000.00" in chain, chain


def test_signing_out_ends_the_session(people: People) -> None:
    page = people.fresh()
    sign_in(page, VIEWER, PASSWORDS[VIEWER])
    assert "/sign-in" not in page.url
    with page.expect_navigation():
        submit(page, "form[action='/sign-out']")
    check(people, page, "signed-out")
    assert "You have been signed out" in text(page), text(page)
    said = visit(people, page, "/sign-in?ended=idle", "sign-in-session-ended")
    assert "Your session ended after 30 minutes without use: sign in again" in said, said
    page.goto("/dashboard")
    assert "/sign-in" in page.url, f"signed out, yet {page.url} opened"
    page.context.close()


def test_pages_reflow_on_a_narrow_screen(people: People) -> None:
    """At 320 CSS pixels wide (WCAG 2.2's reflow, 1.4.10) no page needs sideways scrolling:
    a data table wider than the screen scrolls on its own, in a focusable, named region."""
    pages = {
        RECIPIENT: [
            ("/", "narrow-recipient-home"),
            (f"/lines/{STREAM}/{YEAR}/{LINE}", "narrow-recipient-line"),
            ("/upload", "narrow-upload"),
            (f"/lines/{STREAM}/{YEAR}/{LINE}/mid-year/return", "narrow-online-return"),
            ("/history", "narrow-recipient-history"),
            (f"/lines/{STREAM}/{YEAR}/{OTHER_LINE}", "narrow-not-found"),
        ],
        OFFICER: [
            ("/dashboard", "narrow-officer-dashboards"),
            (DASHBOARD, "narrow-officer-dashboard"),
            ("/history", "narrow-officer-history"),
            (f"{DASHBOARD}/entries?figure=allocated&line={LINE}", "narrow-officer-entries"),
            ("/record/payment", "narrow-record-payment"),
            ("/record/allocation", "narrow-record-allocation"),
        ],
        VIEWER: [("/dashboard", "narrow-viewer-dashboards"), ("/upload", "narrow-refused")],
    }
    scrollers = 0
    for login, paths in pages.items():
        page = people(login)
        page.set_viewport_size({"width": 320, "height": 640})
        try:
            for path, name in paths:
                page.goto(path)
                check(people, page, name)
                wide = page.evaluate("document.documentElement.scrollWidth")
                # What reaches past the screen's edge, outside the scrolling regions.
                beyond = page.eval_on_selector_all(
                    "body *",
                    "es => es.filter(e => e.getBoundingClientRect().right > 320"
                    " && !e.parentElement.closest('.grants-table-scroll'))"
                    ".map(e => e.tagName + '.' + e.className).slice(0, 5)",
                )
                assert wide <= 320, f"{path} is {wide} pixels wide at 320 ({login}): {beyond}"
                # Every data table is in a region that scrolls on its own, can be reached
                # by keyboard and has a name.
                bare = page.eval_on_selector_all(
                    "table", "ts => ts.filter(t => !t.closest('.grants-table-scroll')).length"
                )
                assert bare == 0, f"{path}: {bare} tables outside a scrolling region"
                regions = page.eval_on_selector_all(
                    ".grants-table-scroll",
                    "rs => rs.map(r => [r.getAttribute('tabindex'), r.getAttribute('role'),"
                    " !!(r.getAttribute('aria-label') || r.getAttribute('aria-labelledby')),"
                    " getComputedStyle(r).overflowX])",
                )
                assert all(r == ["0", "region", True, "auto"] for r in regions), (path, regions)
                scrollers += len(regions)
        finally:
            page.set_viewport_size({"width": 1280, "height": 720})
    assert scrollers >= 6, "the pages had fewer tables than expected"
    page = people.fresh()
    page.set_viewport_size({"width": 320, "height": 640})
    visit(people, page, "/sign-in", "narrow-sign-in")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.context.close()


def test_the_checks_catch_a_page_that_fails(people: People) -> None:
    """The harness itself: a page with an unlabelled input and an image without words fails
    axe-core; one whose skip link leads nowhere fails the in-page link check."""
    page = people.fresh()
    page.set_content(
        "<html><head><title>Broken</title></head><body><a href='#nowhere'>Skip</a>"
        "<main><h1>Broken</h1><img src='x.png'><input name='login'></main></body></html>"
    )
    with pytest.raises(AssertionError, match=r"image-alt[\s\S]*label"):
        people.looker.check(page, "self-check-axe")
    page.set_content(
        "<html lang='en'><head><title>Broken</title></head><body><a href='#nowhere'>Skip</a>"
        "<main><h1>Broken</h1></main></body></html>"
    )
    with pytest.raises(AssertionError, match="links to nothing"):
        check(people, page, "self-check-links")
    page.context.close()
