"""The cells of a workbook, read once, and two ways of writing the same cells again: plain
XlsxWriter in constant-memory mode (the capital workbook's floor) and raw XML in a zip
(reported for information).

The floor does the job the command does, in a process of its own as the command runs
(:func:`floor_process`): Python starts, imports XlsxWriter and the standard library's
``sqlite3``, runs on the same ledger file every SELECT the command ran (as the command's own
connection traced them: :func:`product_reads`), fetching every row, and writes the same cells.
The cells it writes come from a file saved before the rounds (:func:`save`); the time it takes
to load them, work the command does not do, is measured in the process and taken off.

``read(path)`` reads a workbook with openpyxl (read-only, formulas as text, and again for the
formulas' saved results) into memory: every sheet in order, and each row's cells that hold
something, a string, a number or a formula with its result. The writers write those cells
and nothing else: no formats, column widths, row heights, merged ranges, charts or print
set-up.
"""

from __future__ import annotations

import marshal
import resource
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name


@dataclass(frozen=True)
class Formula:
    text: str  # without its "="
    result: object


Value = str | int | float | Formula
Row = tuple[int, tuple[tuple[int, Value], ...]]  # 0-based row, (0-based column, value)...


@dataclass
class Sheet:
    name: str
    rows: list[Row]

    @property
    def cells(self) -> int:
        return sum(len(cells) for _, cells in self.rows)


def read(path: Path) -> list[Sheet]:
    """Every sheet's filled cells: formulas from one reading, their results from another."""
    texts = openpyxl.load_workbook(path, read_only=True, data_only=False)
    results = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    for ws, saved in zip(texts.worksheets, results.worksheets, strict=True):
        rows: list[Row] = []
        for r, (cells, values) in enumerate(zip(ws.iter_rows(), saved.iter_rows(), strict=True)):
            kept: list[tuple[int, Value]] = []
            for c, (cell, value) in enumerate(zip(cells, values, strict=True)):
                if cell.value is None:
                    continue
                if cell.data_type == "f":
                    kept.append((c, Formula(str(cell.value)[1:], value.value)))
                else:
                    kept.append((c, cell.value))
            if kept:
                rows.append((r, tuple(kept)))
        out.append(Sheet(ws.title, rows))
    texts.close()
    results.close()
    return out


def xlsxwriter_floor(sheets: list[Sheet], path: Path) -> None:
    """The same cells through XlsxWriter's public methods, each cell by its own type, the
    sheets streamed (constant memory) as the product streams them."""
    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False},
    )
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.name)
        string, number, formula = ws.write_string, ws.write_number, ws.write_formula
        for r, cells in sheet.rows:
            for c, value in cells:
                if isinstance(value, str):
                    string(r, c, value)
                elif isinstance(value, Formula):
                    formula(r, c, value.text, None, value.result)
                else:
                    number(r, c, value)
    wb.close()


# `grants ARGS` as measure.LAUNCHER runs it, its database connection traced: every statement
# it ran, with its values, written to the file named first as it exits.
TRACING_LAUNCHER = """
import atexit, marshal, sys
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.engine import Engine
from grants.cli.main import main

TRACE = Path(sys.argv.pop(1))
RAN = []

@event.listens_for(Engine, "connect")
def traced(dbapi_connection, record) -> None:
    dbapi_connection.set_trace_callback(RAN.append)

atexit.register(lambda: TRACE.write_bytes(marshal.dumps(RAN)))
sys.argv[0] = "grants"
main()
"""


def product_reads(args: list[str], env: Mapping[str, str], trace: Path) -> list[str]:
    """The SELECTs `grants ARGS` runs (SQLite's text of each, its values in place)."""
    done = subprocess.run([sys.executable, "-c", TRACING_LAUNCHER, str(trace), *args],
                          env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    ran: list[str] = marshal.loads(trace.read_bytes())
    return [sql for sql in ran if sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def save(sheets: list[Sheet], reads: list[str], path: Path) -> None:
    """The cells (a formula as its text and result in a tuple) and the reads, for the floor's
    process."""
    plain = [
        (sheet.name, [
            (r, tuple((c, (v.text, v.result) if isinstance(v, Formula) else v) for c, v in cells))
            for r, cells in sheet.rows
        ])
        for sheet in sheets
    ]  # fmt: skip
    path.write_bytes(marshal.dumps((reads, plain)))


# The floor in its own process: argv is the ledger file, the saved cells and the workbook to
# write; it prints the CPU and wall seconds it took to load the cells.
FLOOR = """
import marshal, sqlite3, sys, time
import xlsxwriter

database, saved, output = sys.argv[1:]
cpu, wall = time.process_time(), time.perf_counter()
with open(saved, "rb") as f:
    reads, sheets = marshal.load(f)
loading = (time.process_time() - cpu, time.perf_counter() - wall)
connection = sqlite3.connect(database)
for sql in reads:
    connection.execute(sql).fetchall()
connection.close()
wb = xlsxwriter.Workbook(
    output, {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
)
for name, rows in sheets:
    ws = wb.add_worksheet(name)
    string, number, formula = ws.write_string, ws.write_number, ws.write_formula
    for r, cells in rows:
        for c, value in cells:
            if value.__class__ is str:
                string(r, c, value)
            elif value.__class__ is tuple:
                formula(r, c, value[0], None, value[1])
            else:
                number(r, c, value)
wb.close()
print(*loading)
"""


def floor_process(database: Path, saved: Path, output: Path) -> tuple[float, float]:
    """The floor run as a process of its own: (CPU seconds, wall seconds) it took, less its
    loading of the saved cells."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", FLOOR, str(database), str(saved), str(output)],
                          capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr[-2000:]
    loading_cpu, loading_wall = (float(x) for x in done.stdout.split())
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu - loading_cpu, wall - loading_wall


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
    'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="'
    'application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{sheets}'
    "</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
    'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
    'http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_BOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.'
    'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets>{sheets}</sheets></workbook>'
)
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
    'schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>'
)
_SHEET_REL = (
    '<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet{n}.xml"/>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
    'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def raw_xml(sheets: list[Sheet], path: Path) -> None:
    """The same cells as worksheet XML (strings in-line, formulas with their results) in a
    deflated zip: the least any writer of these cells could do in Python."""
    columns = [xl_col_to_name(c) for c in range(64)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        types = "".join(_SHEET_TYPE.format(n=n) for n in range(1, len(sheets) + 1))
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.format(sheets=types))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        names = "".join(
            f'<sheet name="{s.name.translate(_ESCAPES)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, s in enumerate(sheets, start=1)
        )
        zf.writestr("xl/workbook.xml", _BOOK.format(sheets=names))
        rels = "".join(_SHEET_REL.format(n=n) for n in range(1, len(sheets) + 1))
        zf.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS.format(rels=rels))
        for n, sheet in enumerate(sheets, start=1):
            with zf.open(f"xl/worksheets/sheet{n}.xml", "w") as out:
                out.write(_SHEET_HEAD.encode())
                chunk: list[str] = []
                for r, cells in sheet.rows:
                    number = r + 1
                    chunk.append(f'<row r="{number}">')
                    for c, value in cells:
                        ref = f"{columns[c]}{number}"
                        if isinstance(value, str):
                            chunk.append(
                                f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">'
                                f"{value.translate(_ESCAPES)}</t></is></c>"
                            )
                        elif isinstance(value, Formula):
                            result = "" if value.result is None else f"<v>{value.result}</v>"
                            chunk.append(
                                f'<c r="{ref}"><f>{value.text.translate(_ESCAPES)}</f>{result}</c>'
                            )
                        else:
                            chunk.append(f'<c r="{ref}"><v>{value}</v></c>')
                    chunk.append("</row>")
                    if len(chunk) > 20_000:
                        out.write("".join(chunk).encode())
                        chunk.clear()
                chunk.append("</sheetData></worksheet>")
                out.write("".join(chunk).encode())
