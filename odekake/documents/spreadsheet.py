"""Cells for the CSV and XLSX files the project writes: never a formula.

A cell of user-entered text that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return is taken by Excel and LibreOffice as a formula
(``=HYPERLINK(…)``, ``@SUM(…)``, DDE). As OWASP recommends ("CSV injection"), such
a text is written with a leading apostrophe, so it shows as the text typed and is
never run. Numbers are left alone: ``int``/``float`` values, and texts that are a
plain signed number (``-3``, ``+12``, ``-0.5``), which a spreadsheet reads as that
number anyway. Every CSV and XLSX writer of the project goes through
:func:`neutralise` (:func:`csv_writer` for CSV).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from odekake.errors import NotFound, OdekakeError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """``value`` safe for a spreadsheet cell (only texts that start a formula change)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """A ``csv.writer`` (CRLF lines) whose every cell passes :func:`neutralise`."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        self.writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write rows."""
        for row in rows:
            self.writerow(row)


def csv_writer(out: TextIO) -> SafeCsvWriter:
    """The project's CSV writer: CRLF lines, formulas neutralised."""
    return SafeCsvWriter(out)


def read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """A CSV file's header and its non-empty rows with their line numbers, read as UTF-8
    (with or without a BOM) or Shift_JIS; a row of the wrong width carries ``__error__``."""
    if not path.exists():
        raise NotFound(f"ファイルがありません: {path}")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise OdekakeError(
            f"文字コードを判別できません(UTF-8 か Shift_JIS で保存してください): {path}"
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise OdekakeError(f"CSVが空です: {path}") from exc
    header = [h.strip() for h in header]
    rows: list[tuple[int, dict[str, str]]] = []
    for line_no, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            rows.append((line_no, {"__error__": f"列の数が見出しと違います({len(values)}列)"}))
            continue
        rows.append((line_no, {h: v.strip() for h, v in zip(header, values, strict=True)}))
    return header, rows
