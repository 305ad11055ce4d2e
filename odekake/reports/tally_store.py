"""Past tallies kept at the hub: preview an upload, import it (all or nothing, a sheet for the same period replaced, overlapping periods refused, audited) and load the stored sheets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.errors import ImportRejected, NotFound, OdekakeError
from odekake.reports.counting import Period
from odekake.reports.tallies import TallyLine, TallySheet, parse_csv
from odekake.storage.db import write


@dataclass(frozen=True)
class ImportResult:
    """What one import did."""

    sheets: list[TallySheet]
    replaced: list[TallySheet]

    def replaced_by(self, sheet: TallySheet) -> TallySheet | None:
        """The previously imported sheet of the same period, if ``sheet`` replaced one."""
        return next(
            (
                r
                for r in self.replaced
                if (r.period.start, r.period.end) == (sheet.period.start, sheet.period.end)
            ),
            None,
        )

    def describe(self) -> str:
        """Japanese summary for the terminal (a replacement says what it replaced)."""
        out = []
        for s in self.sheets:
            old = self.replaced_by(s)
            if old is None:
                out.append(f"{s.label}: {len(s.lines)} 行を登録しました。")
            else:
                src = f"「{old.source}」から" if old.source else ""
                out.append(
                    f"{s.label}: 同じ期間の取り込み済みの表({src}{len(old.lines)} 行)を"
                    f"{len(s.lines)} 行で置き換えました。"
                )
        return "\n".join(out)


def preview_tallies(db: sqlite_utils.Database, text: str) -> ImportResult:
    """Every check of :func:`import_tallies`, writing nothing: what an import would do.

    The console shows this before the import (the sheets, and which imported sheets of
    the same periods they would replace).

    Raises:
        ImportRejected: A bad line, or a period that overlaps an existing sheet
            without being the same period.
    """
    sheets = parse_csv(db, text)
    existing = load_sheets(db)
    replaced: list[TallySheet] = []
    problems: list[tuple[int, str]] = []
    for s in sheets:
        for e in existing:
            if e.period.start == s.period.start and e.period.end == s.period.end:
                replaced.append(e)
            elif e.period.overlaps(s.period):
                problems.append(
                    (
                        s.lines[0].line,
                        f"取り込み済みの{e.label}と期間が重なります(二重計上になります)",
                    )
                )
    if problems:
        raise ImportRejected("過去集計", problems)
    return ImportResult(sheets=sheets, replaced=replaced)


def import_tallies(
    db: sqlite_utils.Database,
    text: str,
    *,
    source: str = "",
    now: datetime | None = None,
    actor: str = "system",
) -> ImportResult:
    """Check and store the sheets of a tally CSV (all or nothing), audited.

    Each import is an audit entry ``import`` (detail ``kind: tally``); replacing a sheet
    of the same period is one more (``kind: tally_replace``) naming the period and what
    it replaced.

    Raises:
        ImportRejected: A bad line, or a period that overlaps an existing sheet
            without being the same period.
    """
    from odekake.access import audit

    preview = preview_tallies(db, text)
    sheets, replaced = preview.sheets, preview.replaced
    when = now or datetime.now(UTC)
    stamp = when.isoformat(timespec="seconds")
    with write(db):
        for e in replaced:
            db.execute("DELETE FROM report_tallies WHERE sheet_id = ?", [e.id])
            db.execute("DELETE FROM report_tally_sheets WHERE id = ?", [e.id])
            audit.log(
                db,
                actor,
                "import",
                f"{e.period.start.isoformat()}..{e.period.end.isoformat()}",
                {
                    "kind": "tally_replace",
                    "old_source": e.source,
                    "old_lines": len(e.lines),
                    "old_imported_at": e.imported_at,
                    "new_source": source,
                },
                now=when,
            )
        for s in sheets:
            cur = db.execute(
                "INSERT INTO report_tally_sheets(period_from, period_to, source, imported_at) "
                "VALUES (?,?,?,?)",
                [s.period.start.isoformat(), s.period.end.isoformat(), source, stamp],
            )
            s.id = int(cur.lastrowid or 0)
            s.source = source
            for x in s.lines:
                db.execute(
                    "INSERT INTO report_tallies(sheet_id, line, kind, activity, district_id, "
                    "label, cells, note) VALUES (?,?,?,?,?,?,?,?)",
                    [
                        s.id,
                        x.line,
                        x.kind,
                        x.activity,
                        x.district_id,
                        x.label,
                        json.dumps(x.cells, ensure_ascii=False),
                        x.note,
                    ],
                )
        audit.log(
            db,
            actor,
            "import",
            source,
            {
                "kind": "tally",
                "periods": [f"{s.period.start}..{s.period.end}" for s in sheets],
                "lines": sum(len(s.lines) for s in sheets),
                "replaced": len(replaced),
            },
            now=when,
        )
    return ImportResult(sheets=sheets, replaced=replaced)


def import_file(
    db: sqlite_utils.Database, path: str | Path, *, actor: str = "system"
) -> ImportResult:
    """:func:`import_tallies` on a file (UTF-8 with or without BOM)."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"ファイルがありません: {p}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise OdekakeError(
            f"{p} は UTF-8 ではありません(Excel では「CSV UTF-8」で保存してください)"
        ) from None
    return import_tallies(db, text, source=p.name, actor=actor)


def load_sheets(db: sqlite_utils.Database) -> list[TallySheet]:
    """Every imported sheet with its lines, by period."""
    sheets: list[TallySheet] = []
    for sid, start, end, source, imported_at in db.execute(
        "SELECT id, period_from, period_to, source, imported_at FROM report_tally_sheets "
        "ORDER BY period_from"
    ).fetchall():
        lines = []
        for row in db.execute(
            "SELECT line, kind, activity, district_id, label, cells, note FROM report_tallies "
            "WHERE sheet_id = ? ORDER BY line",
            [sid],
        ).fetchall():
            cells: dict[str, Any] = json.loads(row[5])
            lines.append(TallyLine(row[0], row[1], row[2], row[3], row[4], cells, row[6]))
        sheets.append(
            TallySheet(
                Period(date.fromisoformat(start), date.fromisoformat(end)),
                lines,
                source=source,
                id=int(sid),
                imported_at=str(imported_at or ""),
            )
        )
    return sheets
