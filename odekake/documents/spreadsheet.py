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
import re
from collections.abc import Iterable
from typing import Any, TextIO

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
