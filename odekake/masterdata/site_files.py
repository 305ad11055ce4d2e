"""Districts and sites as CSV files: check, import, export, and the one-site form.

They move in and out as Excel-friendly UTF-8 CSV (written with a BOM so Excel on a
Japanese Windows PC opens it correctly; read with or without). An import checks every
row first and writes nothing unless all rows are good.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.documents.spreadsheet import csv_writer, read_csv
from odekake.errors import ImportRejected, OdekakeError, ValidationError
from odekake.masterdata.master import (
    _ID,
    _TIME,
    DISTRICT_FIELDS,
    SITE_FIELDS,
    SITE_HEADERS_JA,
    SITE_KINDS,
    WEEKDAYS,
    District,
    districts,
    sites,
    upsert_district,
    upsert_site,
)
from odekake.storage.db import write


def _normalise_header(
    header: list[str], fields: Iterable[str], labels: dict[str, str]
) -> dict[str, str]:
    """Map CSV headers (English keys or Japanese labels) to field names."""
    reverse = {v: k for k, v in labels.items()}
    mapping: dict[str, str] = {}
    for h in header:
        key = h if h in fields else reverse.get(h)
        if key is not None:
            mapping[h] = key
    return mapping


def _float(value: str, lo: float, hi: float, label: str, problems: list[str]) -> float:
    try:
        f = float(value)
    except ValueError:
        problems.append(f"{label}が数値ではありません({value!r})")
        return 0.0
    if not lo <= f <= hi:
        problems.append(f"{label}が範囲外です({value})")
    return f


def _site_row(
    row: dict[str, str], known: dict[str, District]
) -> tuple[dict[str, Any] | None, list[str]]:
    """One site's fields (CSV keys) checked: the row to store, or the problems."""
    errs: list[str] = []
    sid = row.get("id", "")
    if not _ID.match(sid):
        errs.append(f"IDは半角英数字・記号(_.-)で64文字以内です({sid!r})")
    dist = known.get(row.get("district", ""))
    if dist is None:
        errs.append(f"地区 {row.get('district', '')!r} がありません")
    if not row.get("name"):
        errs.append("名称が空です")
    kind = row.get("kind") or "その他"
    if kind not in SITE_KINDS:
        errs.append(f"種別は {'・'.join(SITE_KINDS)} のいずれかです({kind!r})")
    lat = _float(row.get("lat", ""), 20.0, 46.0, "緯度", errs)
    lon = _float(row.get("lon", ""), 122.0, 154.0, "経度", errs)
    weekdays = row.get("open_weekdays") or "月火水木金"
    if any(ch not in WEEKDAYS for ch in weekdays):
        errs.append(f"利用可能曜日は 月火水木金土日 の文字で書きます({weekdays!r})")
    t_from = row.get("open_from") or "09:00"
    t_to = row.get("open_to") or "17:00"
    for label, t in (("開始時刻", t_from), ("終了時刻", t_to)):
        if not _TIME.match(t):
            errs.append(f"{label}は HH:MM で書きます({t!r})")
    if _TIME.match(t_from) and _TIME.match(t_to) and t_from >= t_to:
        errs.append(f"開始時刻 {t_from} が終了時刻 {t_to} より後です")
    if errs or dist is None:
        return None, errs
    return {
        "id": sid,
        "district_id": dist.id,
        "name": row["name"],
        "kind": kind,
        "lat": lat,
        "lon": lon,
        "open_weekdays": "".join(ch for ch in WEEKDAYS if ch in weekdays),
        "open_from": t_from,
        "open_to": t_to,
        "notes": row.get("notes", ""),
    }, []


def check_sites(db: sqlite_utils.Database, path: str | Path) -> list[dict[str, Any]]:
    """Every row of a sites CSV checked, nothing written: the rows :func:`import_sites` stores.

    Raises:
        ImportRejected: With every bad row's line number and reason.
    """
    header, rows = read_csv(Path(path))
    mapping = _normalise_header(header, SITE_FIELDS, SITE_HEADERS_JA)
    missing = [
        f
        for f in SITE_FIELDS
        if f not in mapping.values()
        and f not in ("notes", "open_weekdays", "open_from", "open_to", "kind")
    ]
    if missing:
        labels = "、".join(f"{SITE_HEADERS_JA[m]}({m})" for m in missing)
        raise OdekakeError(f"CSVの見出しに必要な列がありません: {labels}")
    known = {d.id: d for d in districts(db)} | {d.name: d for d in districts(db)}
    problems: list[tuple[int, str]] = []
    good: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line_no, raw in rows:
        if "__error__" in raw:
            problems.append((line_no, raw["__error__"]))
            continue
        row = {mapping[h]: v for h, v in raw.items() if h in mapping}
        site_row, errs = _site_row(row, known)
        sid = row.get("id", "")
        if sid in seen:
            errs.insert(0, f"ID {sid} が {seen[sid]}行目と重複しています")
        elif _ID.match(sid):
            seen[sid] = line_no
        if errs:
            problems.extend((line_no, e) for e in errs)
            continue
        assert site_row is not None
        good.append(site_row)
    if problems:
        raise ImportRejected("会場CSV", problems)
    return good


def import_sites(db: sqlite_utils.Database, path: str | Path, *, actor: str | None = None) -> int:
    """Import (insert or update by id) sites from CSV; all rows or none.

    With ``actor`` the import is an audit entry (``import``, kind ``sites``).

    Returns:
        The number of sites written.

    Raises:
        ImportRejected: With every bad row's line number and reason.
    """
    good = check_sites(db, path)
    from odekake.access import audit

    with write(db):
        for s in good:
            upsert_site(db, s)
        if actor is not None:
            audit.log(db, actor, "import", "sites", {"kind": "sites", "rows": len(good)})
    return len(good)


def save_site(db: sqlite_utils.Database, fields: dict[str, str], *, actor: str) -> dict[str, Any]:
    """Add or change one site from a form (the CSV's checks), audited ``site.change``.

    Raises:
        ValidationError: The problems of the fields, in one line.
    """
    known = {d.id: d for d in districts(db)} | {d.name: d for d in districts(db)}
    row, errs = _site_row({k: v.strip() for k, v in fields.items()}, known)
    if errs or row is None:
        raise ValidationError(" / ".join(errs))
    from odekake.access import audit

    with write(db):
        before = list(db["sites"].rows_where("id = ?", [row["id"]]))
        upsert_site(db, row)
        after = next(iter(db["sites"].rows_where("id = ?", [row["id"]])))
        old = before[0] if before else {}
        changes = {k: [old.get(k), v] for k, v in after.items() if k != "id" and old.get(k) != v}
        audit.log(
            db,
            actor,
            "site.change",
            row["id"],
            {"new": not before, "district": row["district_id"], "changes": changes},
        )
    return row


def export_sites(db: sqlite_utils.Database) -> str:
    """All sites as CSV text (Japanese headers, district by name); add a BOM when saving."""
    names = {d.id: d.name for d in districts(db)}
    out = io.StringIO(newline="")
    w = csv_writer(out)
    w.writerow([SITE_HEADERS_JA[f] for f in SITE_FIELDS])
    for s in sites(db):
        w.writerow(
            [
                s["id"],
                names.get(s["district_id"], s["district_id"]),
                s["name"],
                s["kind"],
                f"{s['lat']:.5f}",
                f"{s['lon']:.5f}",
                s["open_weekdays"],
                s["open_from"],
                s["open_to"],
                s["notes"],
            ]
        )
    return out.getvalue()


DISTRICT_HEADERS_JA = {
    "id": "ID",
    "name": "地区名",
    "kana": "ふりがな",
    "kind": "種別",
    "lat": "緯度",
    "lon": "経度",
    "population": "人口",
    "notes": "備考",
}


def export_districts(db: sqlite_utils.Database) -> str:
    """All districts as CSV text (Japanese headers)."""
    out = io.StringIO(newline="")
    w = csv_writer(out)
    w.writerow([DISTRICT_HEADERS_JA[f] for f in DISTRICT_FIELDS])
    for d in districts(db):
        w.writerow(
            [
                d.id,
                d.name,
                d.kana,
                d.kind,
                f"{d.lat:.4f}",
                f"{d.lon:.4f}",
                d.population or "",
                d.notes,
            ]
        )
    return out.getvalue()


def import_districts(db: sqlite_utils.Database, path: str | Path) -> int:
    """Import (insert or update by id) districts from CSV; all rows or none."""
    header, rows = read_csv(Path(path))
    mapping = _normalise_header(header, DISTRICT_FIELDS, DISTRICT_HEADERS_JA)
    missing = [f for f in ("id", "name", "lat", "lon") if f not in mapping.values()]
    if missing:
        raise OdekakeError(
            "CSVの見出しに必要な列がありません: "
            + "、".join(DISTRICT_HEADERS_JA[m] for m in missing)
        )
    problems: list[tuple[int, str]] = []
    good: list[District] = []
    for line_no, raw in rows:
        if "__error__" in raw:
            problems.append((line_no, raw["__error__"]))
            continue
        row = {mapping[h]: v for h, v in raw.items() if h in mapping}
        errs: list[str] = []
        if not _ID.match(row.get("id", "")):
            errs.append(f"IDは半角英数字です({row.get('id', '')!r})")
        if not row.get("name"):
            errs.append("地区名が空です")
        lat = _float(row.get("lat", ""), 20.0, 46.0, "緯度", errs)
        lon = _float(row.get("lon", ""), 122.0, 154.0, "経度", errs)
        pop: int | None = None
        if row.get("population"):
            try:
                pop = int(row["population"].replace(",", ""))
            except ValueError:
                errs.append(f"人口が整数ではありません({row['population']!r})")
        if errs:
            problems.extend((line_no, e) for e in errs)
            continue
        good.append(
            District(
                row["id"],
                row["name"],
                row.get("kana", ""),
                row.get("kind") or "支所地区",
                lat,
                lon,
                pop,
                row.get("notes", ""),
            )
        )
    if problems:
        raise ImportRejected("地区CSV", problems)
    with write(db):
        for d in good:
            upsert_district(db, d)
    return len(good)
