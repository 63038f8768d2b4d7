"""Report rows against the council's published tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.conftest import Grants

TABLES = Path(__file__).parent / "data" / "seed-tables"

APPENDIX_7 = """\
PCC-CSF resourcing (£); district rows are part of their partnership
                                              2014-15  2015-16  2016-17  2017-18
--------------------------------------------  -------  -------  -------  -------
Public Health                                 181,127   65,127   57,127   50,656
Youth Offending / Early Intervention Service  257,866  257,866  249,866  226,913
Community Safety Partnerships                 350,323  350,323  350,323  319,899
  - Cherwell (18.3%)                           64,180   64,180   64,180   58,542
  - Oxford (34.6%)                            121,063  121,063  121,063  110,685
  - South and Vale (33.4%)                    117,111  117,111  117,111  106,846
  - West Oxfordshire (13.7%)                   47,969   47,969   47,969   43,826
Domestic Abuse (DA) and exploitation              n/a  111,000  119,133   94,374
Strategic Intelligence Assessment (SIA)           n/a    2,364    2,364    2,081
TOTAL                                         789,316  786,680  778,813  693,923
Stated                                                          778,813  700,932
Difference                                                                 7,009
"""


def test_resourcing_table_reads_like_appendix_7(oxfordshire: Grants) -> None:
    result = oxfordshire("report", "resourcing", "--years", "2014-15:2017-18")
    assert result.exit_code == 0, result.output
    assert result.output == APPENDIX_7


def test_resourcing_table_has_every_printed_figure(oxfordshire: Grants) -> None:
    data = json.loads(
        oxfordshire("report", "resourcing", "--years", "2014-15:2017-18", "--json").output
    )
    by_name = {r["name"]: r for r in data["rows"]}
    with (TABLES / "pcc_csf_resourcing_2014-15_to_2017-18.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    assert rows
    for row in rows:
        year, value = row["financial_year"], row["value_gbp"]
        expected = f"{int(value)}.00" if value else None
        if row["row_type"] == "total":
            assert data["total"][year] == expected, row
            continue
        line = by_name[row["line_item"]]
        assert line["amounts"][year] == expected, row
        if row["parent"]:
            assert by_name[row["parent"]]["line"] == line["parent"], row
            assert line["shares"][year] == row["share_pct_printed"] + "%", row
    assert data["stated"] == {"2016-17": "778813.00", "2017-18": "700932.00"}
    assert data["difference"] == {"2017-18": "7009.00"}


def test_resourcing_of_an_unknown_stream(oxfordshire: Grants) -> None:
    result = oxfordshire("report", "resourcing", "--stream", "NOPE", "--years", "2017-18")
    assert result.exit_code == 1
    assert "there is no funding stream 'NOPE'" in result.output
