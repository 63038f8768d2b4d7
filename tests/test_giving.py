"""The 360Giving export (`grants export 360giving`): the Oxfordshire books' PCC Community
Safety Fund for 2017-18, with payments to Cherwell, as a data package that the standard's
own JSON Schema accepts, and the regranting chain PCC fund -> Safer Oxfordshire Partnership
-> Cherwell Community Safety Partnership expressed in it. Every figure the test expects is
read from the ledger (`grants balance`, `grants journal`), never typed in."""

from __future__ import annotations

import csv
import json
import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.conftest import Grants
from tests.helpers import books

ROOT = Path(__file__).resolve().parents[1]
STANDARD = ROOT / "src" / "grants" / "standards" / "360giving"

# Two payments to Cherwell, and one to Oxford reversed (paid against the wrong line).
PAYMENTS = """\
2017-07-14 pay PCC-CSF 2017-18 CHERWELL 29,271
  source: remittance 1
2017-10-13 pay PCC-CSF 2017-18 CHERWELL 23,729.50
  source: remittance 2
2017-10-20 pay PCC-CSF 2017-18 OXFORD 1,000
  id: wrong-line
2017-10-21 reverse wrong-line
  reason: "paid against the wrong line"
"""


def validator() -> Draft202012Validator:
    """The standard's package schema, its reference to the grant schema resolved to the copy
    kept with the code (no network), dates checked as formats."""
    package = json.loads((STANDARD / "360-giving-package-schema.json").read_text("utf-8"))
    grant = json.loads((STANDARD / "360-giving-schema.json").read_text("utf-8"))
    ref = package["properties"]["grants"]["items"]["$ref"]
    resource = DRAFT202012.create_resource(grant)
    registry = Registry().with_resources([(ref, resource), (grant["$id"], resource)])
    return Draft202012Validator(
        package, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def regrant_codes() -> set[str]:
    with (STANDARD / "regrantType.csv").open(encoding="utf-8") as f:
        return {row["Code"] for row in csv.DictReader(f)}


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def paid(oxfordshire: Grants, tmp_path: Path) -> Grants:
    loaded = oxfordshire("ledger", "load", str(books(tmp_path, PAYMENTS, "payments.grants")))
    assert loaded.exit_code == 0, loaded.output
    return oxfordshire


def _export(g: Grants, target: Path, *args: str) -> dict[str, Any]:
    result = g("export", "360giving", "--stream", "PCC-CSF", "--year", "2017-18", "-o",
               str(target), *args)  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(target.read_text("utf-8"), parse_float=Decimal)


def test_the_pcc_fund_validates_and_shows_the_regranting_chain(paid: Grants, tmp_path: Path):
    package = _export(paid, tmp_path / "grants.json", "--prefix", "360G-TEST")
    errors = [e.message for e in validator().iter_errors(package)]
    assert errors == []

    rows = _json(paid("balance", "--stream", "PCC-CSF", "--year", "2017-18", "--json"))
    lines = {r["line"]: r for r in rows if r["line"] is not None}
    grants = {g["id"].removeprefix("360G-TEST-PCC-CSF-2017-18-"): g for g in package["grants"]}
    # One grant for each line with an allocation, for what the line holds allocated.
    assert set(grants) == {code for code, r in lines.items() if Decimal(r["allocated"]) > 0}
    for code, grant in grants.items():
        assert grant["amountAwarded"] == Decimal(lines[code]["allocated"]), code
        assert grant["currency"] == "GBP"
        assert grant["plannedDates"] == [{"startDate": "2017-04-01", "endDate": "2018-03-31"}]
        assert grant["grantProgramme"] == [
            {"code": "PCC-CSF", "title": "PCC Community Safety Fund"}
        ]
    # The top-level grants are the money that left the fund: what the ledger allocated.
    top = [g for code, g in grants.items() if lines[code]["parent"] is None]
    total = next(r for r in rows if r["line"] is None)["allocated"]
    assert sum(g["amountAwarded"] for g in top) == Decimal(total)

    # The chain: the CSP line's grant to the Safer Oxfordshire Partnership is a regrant, and
    # Cherwell's grant is made by that partnership, out of it.
    csp, cherwell = grants["CSP"], grants["CHERWELL"]
    assert csp["regrantType"] in regrant_codes()
    assert csp["recipientOrganization"][0]["name"] == "Safer Oxfordshire Partnership"
    assert cherwell["fundingOrganization"] == csp["recipientOrganization"]
    assert cherwell["recipientOrganization"][0]["name"] == "Cherwell Community Safety Partnership"
    assert [c for c, g in grants.items() if "regrantType" in g] == ["CSP"]
    children = {code for code, r in lines.items() if r["parent"] == "CSP"}
    assert sum(grants[c]["amountAwarded"] for c in children) == csp["amountAwarded"]
    # The fund's top-level grants are made by the accountable body, the county council,
    # whose org-id the books give; the partnership has none, and the export says so.
    assert grants["PH"]["fundingOrganization"] == [
        {"id": "GB-LAE-OXF", "name": "Oxfordshire County Council"}
    ]
    assert csp["recipientOrganization"][0]["id"] == "360G-TEST-ORG-SOP"
    assert package["publisher"] == {
        "name": "Oxfordshire County Council",
        "identifier": "GB-LAE-OXF",
    }

    # The payments: Cherwell's two as they stand in the journal; Oxford's, reversed, none.
    journal = _json(paid("journal", "--json"))
    reversed_refs = {e["reverses"] for e in journal if e["reverses"]}
    standing = [
        e for e in journal
        if e["kind"] == "pay" and e["year"] == "2017-18" and not e["reverses"]
        and e["ref"] not in reversed_refs and e["entry"] not in reversed_refs
    ]  # fmt: skip
    assert [(t["transactionDate"], t["value"]) for t in cherwell["disbursementTransaction"]] == [
        (e["date"], Decimal(e["amount"])) for e in standing if e["line"] == "CHERWELL"
    ]
    assert sum(t["value"] for t in cherwell["disbursementTransaction"]) == Decimal(
        lines["CHERWELL"]["paid"]
    )
    assert "disbursementTransaction" not in grants["OXFORD"]


def test_amounts_are_json_numbers_to_two_places(paid: Grants, tmp_path: Path):
    target = tmp_path / "grants.json"
    _export(paid, target)
    text = target.read_text("utf-8")
    rows = _json(paid("balance", "--stream", "PCC-CSF", "--year", "2017-18", "--json"))
    cherwell = next(r for r in rows if r["line"] == "CHERWELL")
    assert f'"amountAwarded": {cherwell["allocated"]},' in text  # 58542.00, unquoted
    assert '"value": 23729.50,' in text


def test_ids_are_the_same_in_every_export_and_after_loading_again(
    paid: Grants, tmp_path: Path
) -> None:
    first = (tmp_path / "a.json", tmp_path / "b.json")
    _export(paid, first[0])
    again = paid("ledger", "load", str(books(tmp_path, PAYMENTS, "payments.grants")))
    assert again.exit_code == 0 and "nothing new" in again.output, again.output
    _export(paid, first[1])
    assert first[0].read_bytes() == first[1].read_bytes()
    ids = [g["id"] for g in json.loads(first[0].read_text("utf-8"))["grants"]]
    # With no prefix in the books the ids say it is not a registered one.
    assert "360G-UNREGISTERED-PCC-CSF-2017-18-CHERWELL" in ids
    assert len(ids) == len(set(ids))


def test_the_books_give_the_prefix_and_an_export_round_trips_it(
    oxfordshire: Grants, tmp_path: Path
):
    setting = '2017-04-01 setting 360giving-prefix "360G-OXON"\n'
    assert oxfordshire("ledger", "load", str(books(tmp_path, setting, "p.grants"))).exit_code == 0
    package = _export(oxfordshire, tmp_path / "g.json")
    assert package["grants"][0]["id"].startswith("360G-OXON-PCC-CSF-2017-18-")
    # --prefix stands over the books.
    assert _export(oxfordshire, tmp_path / "h.json", "--prefix", "360G-X")["grants"][0][
        "id"
    ].startswith("360G-X-PCC-CSF-")
    exported = tmp_path / "export"
    assert oxfordshire("ledger", "export", "-o", str(exported)).exit_code == 0
    text = (exported / "ledger-0001.grants").read_text("utf-8")
    assert "2017-04-01 setting 360giving-prefix 360G-OXON\n" in text
    assert "2009-04-01 org-id OCC GB-LAE-OXF\n" in text
    assert "2009-04-01 setting 360giving-publisher OCC\n" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "OCC"], "Error: --prefix: 'OCC' is not a 360Giving prefix: give `360G-` "
         "(in capitals) and letters, digits and single hyphens, not ending in one: the prefix "
         "360Giving registered for the publisher (e.g. 360G-OCC)\n"),
        (["--prefix", "360G-OCC-"], "Error: --prefix: '360G-OCC-' is not a 360Giving prefix"),
        (["--prefix", "360g-OCC"], "Error: --prefix: '360g-OCC' is not a 360Giving prefix"),
        (["--prefix", "360G-OC C"], "Error: --prefix: '360G-OC C' is not a 360Giving prefix"),
        (["--stream", "PCC-CSX"], "Error: there is no funding stream 'PCC-CSX'; did you mean "
         "PCC-CSF?\n"),
        (["--year", "2030-31"], "Error: there are no allocations for 2030-31 to publish: a "
         "grant is a line's allocation to its recipient (`recipient:` on the line); see `grants "
         "allocations --stream CODE`\n"),
        (["--stream", "CAPITAL"], "Error: there are no allocations of CAPITAL to publish "
         "(CAPITAL 2018-19:2027-28: 21 lines with no recipient ("),
        (["--year", "2017-19"], "Error: '2017-19' is not a financial year: did you mean 2017-18 "
         "to 2018-19? write 2017-18:2018-19\n"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_and_nothing_is_written(
    oxfordshire: Grants, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = oxfordshire("export", "360giving", "-o", str(out / "grants.json"), *args)
    assert result.exit_code == 1
    assert result.output.startswith(message), result.output
    assert list(out.iterdir()) == []


def test_an_unwritable_output_leaves_no_file_and_the_earlier_one_whole(
    oxfordshire: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "grants.json"
    result = oxfordshire("export", "360giving", "-o", str(missing))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: -o: cannot write {missing}: No such file or directory; nothing was written\n"
    )
    not_a_folder = tmp_path / "plain-file"
    not_a_folder.write_text("", "utf-8")
    result = oxfordshire("export", "360giving", "-o", str(not_a_folder / "grants.json"))
    assert result.exit_code == 1
    assert result.output.endswith("Not a directory; nothing was written\n"), result.output
    # A failure once the file is written (the disk full, say, as it is renamed into place)
    # leaves the earlier file as it was and nothing beside it.
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "grants.json"
    earlier.write_text("earlier", "utf-8")

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("grants.cli.export.os.replace", full)
    result = oxfordshire("export", "360giving", "-o", str(earlier))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: -o: cannot write {earlier}: No space left on device; nothing was written\n"
    )
    assert earlier.read_text("utf-8") == "earlier"
    assert [p.name for p in out.iterdir()] == ["grants.json"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('2017-04-01 setting 360giving-prefix "OCC"',
         "'OCC' is not a 360Giving prefix: `360G-` (in capitals) and letters, digits and single "
         "hyphens, not ending in one (the prefix 360Giving gave the publisher, e.g. 360G-OCC)"),
        ('2017-04-01 setting colour "blue"',
         "unknown setting 'colour'; the settings are 360giving-prefix, 360giving-publisher"),
        ("2017-04-01 org-id OCC 12345",
         "'12345' is not an organisation identifier of org-id.guide: the list's code and the "
         "register's identifier, e.g. GB-LAE-OXF or GB-CHC-1234567"),
        ("2017-04-01 org-id NOBODY GB-LAE-XYZ",
         "'NOBODY' is not an organisation declared with `org`"),
        ("2017-04-01 setting 360giving-publisher NOBODY",
         "'NOBODY' is not an organisation declared with `org`"),
    ],
)  # fmt: skip
def test_bad_settings_in_the_books_are_refused_at_their_line(
    grants: Grants, tmp_path: Path, line: str, message: str
) -> None:
    path = books(tmp_path, line + "\n")
    result = grants("ledger", "load", str(path))
    assert result.exit_code == 1
    assert f"{path.name}:1: {message}" in result.output, result.output


def _unflatten(path: Path, form: str, tmp_path: Path) -> list[dict[str, Any]]:
    """The grants flattentool reads back from a flat form (as 360Giving's tools read it)."""
    import warnings

    from flattentool import unflatten

    back = tmp_path / f"back-{form}.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unflatten(str(path), input_format=form, output_name=str(back), root_list_path="grants",
                  schema=str(STANDARD / "360-giving-schema.json"), id_name="id")  # fmt: skip
    return json.loads(back.read_text("utf-8"), parse_float=Decimal)["grants"]


def test_the_flat_forms_read_back_to_the_same_grants(paid: Grants, tmp_path: Path) -> None:
    package = _export(paid, tmp_path / "grants.json")
    for form, target in (("xlsx", tmp_path / "grants.xlsx"), ("csv", tmp_path / "grants-csv")):
        made = paid("export", "360giving", "--stream", "PCC-CSF", "--year", "2017-18",
                    "--format", form, "-o", str(target))  # fmt: skip
        assert made.exit_code == 0, made.output
        back = {g["id"]: g for g in _unflatten(target, form, tmp_path)}
        assert back == {g["id"]: g for g in package["grants"]}, form  # CSV: in any order
    assert sorted(p.name for p in (tmp_path / "grants-csv").iterdir()) == [
        "disbursementTransaction.csv", "fundingOrganization.csv", "grantProgramme.csv",
        "grants.csv", "plannedDates.csv", "recipientOrganization.csv",
    ]  # fmt: skip
    # Nothing is left beside them.
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    again = paid("export", "360giving", "--format", "csv", "-o", str(tmp_path / "grants-csv"))
    assert again.exit_code == 1
    assert again.output == (
        f"Error: -o: {tmp_path / 'grants-csv'} already exists: give a new folder for the CSV "
        "files\n"
    )


FORMULA = """\
2017-04-01 org FUNDER "A funder"
  role: funder
2017-04-01 org RUNS "=HYPERLINK(\\"http://example.org\\",\\"x\\")"
  role: recipient
2017-04-01 stream CSF "Community safety fund"
  kind: pcc-csf
  funder: FUNDER
2017-04-01 line CSF A "A line"
  recipient: RUNS
2017-04-01 award CSF 2017-18 1,000
2017-04-01 allocate CSF 2017-18 A 1,000
"""


def test_text_from_the_ledger_is_never_a_formula(grants: Grants, tmp_path: Path) -> None:
    import openpyxl

    assert grants("ledger", "load", str(books(tmp_path, FORMULA))).exit_code == 0
    name = '=HYPERLINK("http://example.org","x")'
    workbook = tmp_path / "g.xlsx"
    assert grants("export", "360giving", "--format", "xlsx", "-o", str(workbook)).exit_code == 0
    cells = [c for ws in openpyxl.load_workbook(workbook) for row in ws.iter_rows() for c in row]
    runs = [c for c in cells if c.value == name]
    assert runs and all(c.data_type == "s" for c in runs)
    refused = grants("export", "360giving", "--format", "csv", "-o", str(tmp_path / "csv"))
    assert refused.exit_code == 1
    assert refused.output == (
        "Error: --format csv: grants/0/recipientOrganization/0/name begins '=', which a "
        "spreadsheet program opening the file would run as a formula: use --format xlsx (its "
        "cells are text) or json\n"
    )
    assert not (tmp_path / "csv").exists()
    package = json.loads(
        grants("export", "360giving", "-o", str(tmp_path / "g.json")).exit_code == 0
        and (tmp_path / "g.json").read_text("utf-8")
    )
    assert package["grants"][0]["recipientOrganization"][0]["name"] == name


def test_the_export_names_what_it_could_not_identify_or_publish(oxfordshire: Grants, tmp_path):
    result = oxfordshire("export", "360giving", "-o", str(tmp_path / "all.json"), "--json")
    summary = _json(result)
    package = json.loads((tmp_path / "all.json").read_text("utf-8"))
    assert summary["grants"] == len(package["grants"])
    assert summary["prefix"] == "360G-UNREGISTERED"
    # Each organisation published without an org-id is named, and only those.
    published = {
        (o["id"], o["name"])
        for g in package["grants"]
        for o in g["recipientOrganization"] + g["fundingOrganization"]
    }
    fallback = sorted(n for i, n in published if i.startswith("360G-UNREGISTERED-ORG-"))
    assert sorted(u.split(" (", 1)[1][:-1] for u in summary["unidentified"]) == fallback
    assert "SOP (Safer Oxfordshire Partnership)" in summary["unidentified"]
    assert ("GB-LAE-OXF", "Oxfordshire County Council") in published
    # The lines with no recipient (the capital programme's) are left out, and said to be.
    allocations = _json(oxfordshire("allocations", "--stream", "CAPITAL", "--json"))
    assert allocations and not any("-CAPITAL-" in g["id"] for g in package["grants"])
    assert any(line.startswith("CAPITAL ") for line in summary["left_out"])


def test_a_signed_agreement_gives_the_grants_planned_dates(paid: Grants, tmp_path: Path):
    """A line with a grant agreement (`grants commit`) is planned for the days it runs; the
    other lines keep the financial year."""
    committed = paid("commit", "PCC-CSF", "2017-18", "CHERWELL", "10,000", "--agreement",
                     "CDC-2017-1", "--from", "01/06/2017", "--to", "31/01/2018")  # fmt: skip
    assert committed.exit_code == 0, committed.output
    package = _export(paid, tmp_path / "grants.json", "--prefix", "360G-TEST")
    assert [e.message for e in validator().iter_errors(package)] == []
    grants = {g["id"].removeprefix("360G-TEST-PCC-CSF-2017-18-"): g for g in package["grants"]}
    assert grants["CHERWELL"]["plannedDates"] == [
        {"startDate": "2017-06-01", "endDate": "2018-01-31"}
    ]
    assert grants["CSP"]["plannedDates"] == [{"startDate": "2017-04-01", "endDate": "2018-03-31"}]


def test_a_device_or_pipe_is_never_written_over(paid: Grants, tmp_path: Path):
    """Renaming over a named pipe (or /dev/null, as a superuser) would replace it: refused."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    result = paid("export", "360giving", "--stream", "PCC-CSF", "-o", str(pipe))
    assert result.exit_code == 1
    assert "is not a regular file (a device, a pipe or a socket)" in result.output
    assert stat.S_ISFIFO(pipe.lstat().st_mode)


def test_two_grants_with_one_id_are_refused(grants: Grants, tmp_path: Path):
    """Stream F's line 2017-18-A and stream F-2017-18's line A, both in 2017-18, would both
    be F-2017-18-2017-18-A: nothing is written."""
    text = '2017-04-01 org FUNDER "A funder"\n  role: funder\n'
    text += '2017-04-01 org R "Recipient"\n  role: recipient\n'
    # Two ids made twice: the first in order is named, whichever is made first.
    pairs = (("G", "2017-18-A"), ("G-2017-18", "A"), ("F", "2017-18-A"), ("F-2017-18", "A"))
    for stream, line in pairs:
        text += (f'2017-04-01 stream {stream} "Fund {stream}"\n  funder: FUNDER\n'
                 f'2017-04-01 line {stream} {line} "Line {line}"\n  recipient: R\n'
                 f"2017-04-01 award {stream} 2017-18 100\n"
                 f"2017-04-01 allocate {stream} 2017-18 {line} 100\n")  # fmt: skip
    loaded = grants("ledger", "load", str(books(tmp_path, text)))
    assert loaded.exit_code == 0, loaded.output
    target = tmp_path / "grants.json"
    result = grants("export", "360giving", "-o", str(target))
    assert result.exit_code == 1
    assert "two grants would have the id 360G-UNREGISTERED-F-2017-18-2017-18-A" in result.output
    assert not target.exists()


def test_nothing_to_publish_is_said_before_the_output_is_tried(oxfordshire: Grants, tmp_path):
    missing = tmp_path / "nowhere" / "grants.json"
    result = oxfordshire("export", "360giving", "--year", "2040-41", "-o", str(missing))
    assert result.exit_code == 1
    assert result.output == (
        "Error: there are no allocations for 2040-41 to publish: a grant is a line's allocation "
        "to its recipient (`recipient:` on the line); see `grants allocations --stream CODE`\n"
    )


def _fund(award: int) -> str:
    """Books of a funder and its stream F, awarded ``award`` pounds for 2017-18."""
    text = '2017-04-01 org FUNDER "A funder"\n  role: funder\n'
    text += '2017-04-01 stream F "Fund F"\n  funder: FUNDER\n'
    return text + f"2017-04-01 award F 2017-18 {award}\n"


def _many(count: int) -> str:
    """Books of one stream with ``count`` grants, to recipients the books give no org-id."""
    text = _fund(count * 100)
    for n in range(count):
        text += (f'2017-04-01 org R{n:02d} "Recipient {n}"\n  role: recipient\n'
                 f'2017-04-01 line F L{n:02d} "Line {n}"\n  recipient: R{n:02d}\n'
                 f"2017-04-01 allocate F 2017-18 L{n:02d} 100\n")  # fmt: skip
    return text


@pytest.mark.parametrize("form", ["json", "xlsx", "csv"])
def test_a_grant_that_breaks_the_schema_part_way_leaves_nothing_written(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """The package is written grant by grant and checked as it goes: a grant that breaks the
    standard after others were written leaves no file, and an earlier one as it was."""
    text = _many(12) + '2017-04-01 line F SUB "Beneath line 7"\n  parent: L07\n  recipient: R03\n'
    text += "2017-04-01 allocate F 2017-18 SUB 50\n"
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    # Line 7's grant passes money on, a regrant: a code not in the standard's list.
    monkeypatch.setattr("grants.services.giving.REGRANT", "FRG999")
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / ("grants" if form == "csv" else f"grants.{form}")
    if form != "csv":
        earlier.write_text("earlier", "utf-8")
    result = grants("export", "360giving", "--format", form, "-o", str(earlier))
    assert result.exit_code == 1
    assert result.output == (
        "Error: the grants do not meet the 360Giving schema, so nothing was written: "
        "grants/7/regrantType: 'FRG999' is not in the regrantType list\n"
    )
    if form == "csv":
        assert list(out.iterdir()) == []
    else:
        assert [p.name for p in out.iterdir()] == [earlier.name]
        assert earlier.read_text("utf-8") == "earlier"


def test_a_warning_names_ten_organisations_and_json_every_one(grants: Grants, tmp_path: Path):
    assert grants("ledger", "load", str(books(tmp_path, _many(12)))).exit_code == 0
    result = grants("export", "360giving", "-o", str(tmp_path / "g.json"))
    assert result.exit_code == 0, result.output
    named = ", ".join(f"R{n:02d} (Recipient {n})" for n in range(10))
    assert (
        f"warning: the books give no org-id for FUNDER (A funder), {named[: named.rindex(',')]} "
        "and 3 more (`--json` lists every one): each is identified as "
        "360G-UNREGISTERED-ORG-CODE"
    ) in result.output
    summary = _json(grants("export", "360giving", "-o", str(tmp_path / "g.json"), "--json"))
    assert summary["unidentified"] == ["FUNDER (A funder)"] + [
        f"R{n:02d} (Recipient {n})" for n in range(12)
    ]


def test_what_the_streams_award_counts_grants_beneath_a_heading_not_published(
    grants: Grants, tmp_path: Path
) -> None:
    """A grant beneath a line with no recipient (a heading, left out) awards money from the
    stream; a grant beneath a published grant is inside it."""
    text = '2017-04-01 org FUNDER "A funder"\n  role: funder\n'
    for org in ("RA", "RB", "RP", "RC", "RD"):
        text += f'2017-04-01 org {org} "Recipient {org}"\n  role: recipient\n'
    text += '2017-04-01 stream F "Fund F"\n  funder: FUNDER\n'
    text += '2017-04-01 line F H "A heading"\n'
    for line, parent, org in (("A", "H", "RA"), ("B", "H", "RB"), ("P", None, "RP"),
                              ("C", "P", "RC"), ("D", None, "RD")):  # fmt: skip
        text += f'2017-04-01 line F {line} "Line {line}"\n  recipient: {org}\n'
        text += f"  parent: {parent}\n" if parent else ""
    text += "2017-04-01 award F 2017-18 5000\n"
    for line, amount in (("H", 1000), ("A", 600), ("B", 400), ("P", 500), ("C", 200), ("D", 300)):
        text += f"2017-04-01 allocate F 2017-18 {line} {amount}\n"
    loaded = grants("ledger", "load", str(books(tmp_path, text)))
    assert loaded.exit_code == 0, loaded.output
    summary = _json(grants("export", "360giving", "-o", str(tmp_path / "g.json"), "--json"))
    package = json.loads((tmp_path / "g.json").read_text("utf-8"), parse_float=Decimal)
    amounts = {g["id"].rsplit("-", 1)[1]: g["amountAwarded"] for g in package["grants"]}
    assert amounts == {"A": 600, "B": 400, "P": 500, "C": 200, "D": 300}
    assert summary["top_level_amount"] == str(amounts["A"] + amounts["B"] + amounts["P"]
                                               + amounts["D"])  # fmt: skip
    assert summary["left_out"] == ["F 2017-18: 1 line with no recipient (H)"]


@pytest.mark.parametrize(
    ("form", "name", "message"),
    [
        ("json", "grants/", "names a folder: give the name of the file to write (e.g. "),
        ("xlsx", "grants/", "names a folder: give the name of the file to write (e.g. "),
        ("xlsx", "grants.json", "is not the name of a workbook: end it .xlsx, as a spreadsheet "
         "program opens a workbook by its name"),
    ],
)  # fmt: skip
def test_an_output_whose_name_says_otherwise_is_refused(
    oxfordshire: Grants, tmp_path: Path, form: str, name: str, message: str
) -> None:
    """A name ending with a slash is a folder's (it was written as a file of that name), and
    a workbook named .json would not open as one."""
    out = tmp_path / "out"
    out.mkdir()
    given = f"{out}/{name}"
    result = oxfordshire("export", "360giving", "--format", form, "-o", given)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: -o: {given} {message}"), result.output
    assert list(out.iterdir()) == []
    # A folder of CSV files may be named with its slash.
    csv = oxfordshire("export", "360giving", "--format", "csv", "-o", f"{out}/csv/")
    assert csv.exit_code == 0, csv.output
    assert (out / "csv" / "grants.csv").is_file()


def _ordered_books() -> str:
    """A parent P with lines B and C beneath it (declared in that order, C allocated first),
    and a line X allocated for 2018-19:2019-20 before 2018-19: the accounts made in the other
    order from the lines and periods."""
    text = '2017-04-01 org FUNDER "A funder"\n  role: funder\n'
    for org in ("RP", "RB", "RC", "RX"):
        text += f'2017-04-01 org {org} "Recipient {org}"\n  role: recipient\n'
    text += '2017-04-01 stream F "Fund F"\n  funder: FUNDER\n'
    for line, parent in (("P", None), ("B", "P"), ("C", "P"), ("X", None)):
        text += f'2017-04-01 line F {line} "Line {line}"\n  recipient: R{line}\n'
        text += f"  parent: {parent}\n" if parent else ""
    text += "2018-04-01 award F 2018-19:2019-20 700\n2018-04-01 award F 2018-19 2000\n"
    text += "2018-04-02 allocate F 2018-19:2019-20 X 700\n"
    for line, amount in (("X", 300), ("P", 1000), ("C", 250), ("B", 150)):
        text += f"2018-04-03 allocate F 2018-19 {line} {amount}\n"
    return text


def test_a_years_grants_come_in_the_order_of_their_lines_and_periods(
    grants: Grants, tmp_path: Path
) -> None:
    """A year's grants in the order the lines were declared, a line's periods by their last
    year, and the lines a grant passed on to in the order they were declared: not in the
    order their accounts were first posted to."""
    loaded = grants("ledger", "load", str(books(tmp_path, _ordered_books())))
    assert loaded.exit_code == 0, loaded.output
    _json(grants("export", "360giving", "-o", str(tmp_path / "g.json"), "--json"))
    package = json.loads((tmp_path / "g.json").read_text("utf-8"), parse_float=Decimal)
    ids = [g["id"].removeprefix("360G-UNREGISTERED-F-") for g in package["grants"]]
    assert ids == ["2018-19-P", "2018-19-B", "2018-19-C", "2018-19-X", "2018-19-2019-20-X"]
    assert package["grants"][0]["description"].endswith("passed on to Line B, Line C.")


def test_a_year_read_a_few_lines_at_a_time_makes_the_same_package(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grants of a year are made from their allocations and lines, and from the entries,
    read in the order of the lines a chunk of rows at a time: however small the chunk, the
    same package (a line's two periods, a regrant's lines and a reversed payment falling
    across chunks)."""
    from grants.services import giving_reads

    text = _ordered_books() + (
        "2018-07-14 pay F 2018-19 B 100\n2018-10-13 pay F 2018-19 B 20.50\n"
        '2018-10-20 pay F 2018-19 C 10\n  id: wrong-line\n2018-10-21 reverse wrong-line\n  reason: "wrong line"\n'
        "2018-10-22 pay F 2018-19:2019-20 X 70\n"
    )
    loaded = grants("ledger", "load", str(books(tmp_path, text)))
    assert loaded.exit_code == 0, loaded.output
    made = []
    for chunk in (giving_reads._STREAMED, 1, 2, 3):
        monkeypatch.setattr(giving_reads, "_STREAMED", chunk)
        target = tmp_path / f"g{chunk}.json"
        _json(grants("export", "360giving", "-o", str(target), "--json"))
        made.append(target.read_text("utf-8"))
    assert made[1:] == made[:1] * 3
    package = json.loads(made[0], parse_float=Decimal)
    # Each grant's allocation day and payments (the reversed one not among them).
    found = {g["id"].removeprefix("360G-UNREGISTERED-F-"):
             (g["awardDate"], [t["value"] for t in g.get("disbursementTransaction", [])])
             for g in package["grants"]}  # fmt: skip
    assert found == {"2018-19-P": ("2018-04-03", []),
                     "2018-19-B": ("2018-04-03", [100, Decimal("20.50")]),
                     "2018-19-C": ("2018-04-03", []), "2018-19-X": ("2018-04-03", []),
                     "2018-19-2019-20-X": ("2018-04-02", [70])}  # fmt: skip


def _regrants(count: int) -> str:
    """A stream of ``count`` lines, each to an intermediary of its own passing its
    allocation on to a line beneath."""
    text = _fund(count * 100)
    for n in range(count):
        text += (f'2017-04-01 org I{n:02d} "Intermediary {n}"\n  role: recipient\n'
                 f'2017-04-01 org R{n:02d} "Recipient {n}"\n  role: recipient\n'
                 f'2017-04-01 line F P{n:02d} "Line {n}"\n  recipient: I{n:02d}\n'
                 f'2017-04-01 line F C{n:02d} "Beneath {n}"\n  recipient: R{n:02d}\n'
                 f"  parent: P{n:02d}\n"
                 f"2017-04-01 allocate F 2017-18 P{n:02d} 100\n"
                 f"2017-04-01 allocate F 2017-18 C{n:02d} 60\n")  # fmt: skip
    return text


def test_the_queries_of_an_export_do_not_grow_with_the_organisations_that_regrant(
    grants: Grants, tmp_path: Path
) -> None:
    """The organisation that makes a regrant is read with the line above it, not one query
    for each: an export of 3 regranting chains and one of 12 make as many queries."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    made = []
    for size in (3, 12):
        loaded = grants("ledger", "load", str(books(tmp_path, _regrants(size), f"r{size}.grants")))
        assert loaded.exit_code == 0, loaded.output
        target = tmp_path / f"g{size}.json"
        statements.clear()
        event.listen(Engine, "before_cursor_execute", count)
        try:
            summary = _json(grants("export", "360giving", "--stream", "F", "-o", str(target),
                                   "--json"))  # fmt: skip
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        made.append(len(statements))
        package = json.loads(target.read_text("utf-8"))
        makers = {g["id"][-3:]: g["fundingOrganization"][0]["name"] for g in package["grants"]}
        assert makers["C00"] == "Intermediary 0" and makers["P00"] == "A funder"
        assert summary["grants"] == 2 * size
    assert made[0] == made[1]
