"""何度も書かない: a request a resident prepares on a phone, carried to the kiosk by QR code.

The payload is ASCII only, because a barcode scanner acting as a keyboard (a
"keyboard wedge") types what it reads and most cannot type Japanese:

    ODK1:<base64url of the UTF-8 JSON, no padding>:<CRC-32 of that text, 8 hex digits>

The JSON is ``{"v": 1, "d": "YYYY-MM-DD", "s": SERVICE, "f": {FIELD: VALUE, ...}}``
with ``d`` the day the resident made the code. :func:`decode` refuses, with one
Japanese line and nothing filled: another kind of text, a cut-off or mistyped code
(the CRC), an unknown version, a code older than :data:`MAX_AGE_DAYS`, an unknown
service or field, and any value that fails the same per-field checks as typed input
(a My Number in any field included). The full form is validated again by the
service when the operator saves, as for typed input.

The page that makes the codes (``odekake prefill site``) is built from the hub's
catalogue by :func:`build_site`; it uses the same field list (:data:`SERVICES`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import zlib
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.errors import OdekakeError, os_reason
from odekake.masterdata import catalog
from odekake.services import certificates, common, disaster, mynumber
from odekake.services.common import Form
from odekake.storage.db import write

PREFIX = "ODK"
SITE_SETTING = "prefill_site_dir"
VERSION = 1
MAX_AGE_DAYS = 90

#: service key → (kiosk menu key, Japanese name, {field: label})
SERVICES: dict[str, tuple[str, str, dict[str, str]]] = {
    "cert": (
        "1",
        "証明書の請求",
        {
            "service_code": "証明書の種類",
            "copies": "部数",
            "name": "氏名",
            "kana": "ふりがな",
            "address": "住所",
            "birth_date": "生年月日",
            "phone": "電話番号",
            "relation": "請求者と本人の関係",
            "subject_name": "証明が必要な方の氏名",
            "purpose": "使用目的",
        },
    ),
    "mynumber": (
        "2",
        "マイナンバーカード申請支援",
        {
            "application_id": "申請書ID",
            "name": "氏名",
            "kana": "ふりがな",
            "birth_date": "生年月日",
            "route": "受取方法",
        },
    ),
    "disaster": (
        "3",
        "り災証明書の申請",
        {
            "disaster_id": "災害",
            "name": "申請者氏名",
            "address": "申請者住所",
            "phone": "連絡先電話番号",
            "relation": "世帯との関係",
            "building_address": "被害を受けた建物の所在地",
            "cause": "被害の原因",
            "ownership": "所有関係",
            "water_level": "浸水の程度",
            "water_depth_cm": "浸水深(cm)",
        },
    ),
    "garbage": (
        "4",
        "ごみ納付券",
        {"service_code": "券の種類", "quantity": "枚数"},
    ),
}


@dataclass(frozen=True)
class FieldRule:
    """How the kiosk checks one field of a code — and, written into the page, how the
    page checks it before it makes one (:func:`rules`)."""

    kind: str  # text | phone | integer | choice | birth_date | application_id
    max_len: int = common.TEXT_MAX_LEN
    lo: int = 0
    hi: int = 0


CHOICE_FIELDS = (
    "service_code", "relation", "route", "ownership", "water_level", "disaster_id", "cause",
)  # fmt: skip
FIELD_RULES: dict[str, FieldRule] = {
    **{name: FieldRule("choice") for name in CHOICE_FIELDS},
    "birth_date": FieldRule("birth_date"),
    "phone": FieldRule("phone"),
    "copies": FieldRule("integer", lo=1, hi=20),
    "quantity": FieldRule("integer", lo=1, hi=20),
    "water_depth_cm": FieldRule("integer", lo=0, hi=1000),
    "application_id": FieldRule("application_id", max_len=30),
}


def field_rule(name: str) -> FieldRule:
    """The rule of a field (free text up to 100 characters unless listed)."""
    return FIELD_RULES.get(name, FieldRule("text"))


def rules() -> dict[str, Any]:
    """Every rule the kiosk's decoder applies, as the JSON the page checks with.

    ``odekake prefill site`` writes it as ``rules.json`` and into the page, so the page
    can only make codes the kiosk accepts (the messages are the kiosk's own words).
    """
    return {
        "fields": {
            service: {name: asdict(field_rule(name)) for name in labels}
            for service, (_key, _title, labels) in SERVICES.items()
        },
        "normalise": "NFKC",
        "phone": {
            "pattern": common.PHONE_PATTERN,
            "digits": list(common.PHONE_DIGITS),
            "message": common.PHONE_MESSAGE,
        },
        "text": {"too_long": common.TEXT_TOO_LONG},
        "unprintable": {
            "categories": list(common.UNPRINTABLE_CATEGORIES),
            "ranges": [list(r) for r in common.UNPRINTABLE_RANGES],
            "symbol_ranges": [list(r) for r in common.UNPRINTABLE_SYMBOL_RANGES],
            "message": common.UNPRINTABLE_MESSAGE,
        },
        "my_number": {"message": common.MY_NUMBER_MESSAGE},
        "application_id_digits": mynumber.APPLICATION_ID_DIGITS,
        "birth_min_year": 1868,
    }


class PrefillError(OdekakeError):
    """A scanned code that fills nothing; the message says why, in Japanese."""


@dataclass(frozen=True)
class Prefill:
    """A decoded request: which service, made when, and the form values it fills."""

    service: str
    created: date
    fields: dict[str, str]

    @property
    def menu_key(self) -> str:
        """The kiosk menu key of the service."""
        return SERVICES[self.service][0]

    @property
    def title(self) -> str:
        """The service's Japanese name."""
        return SERVICES[self.service][1]


def looks_like_payload(text: str) -> bool:
    """True for text that starts like one of our codes (any version)."""
    return text.strip().upper().startswith(PREFIX)


def _crc(text: str) -> str:
    return f"{zlib.crc32(text.encode('ascii')) & 0xFFFFFFFF:08x}"


def encode(service: str, fields: dict[str, Any], created: date) -> str:
    """The ASCII payload for a request (the same format the page makes)."""
    doc = {"v": VERSION, "d": created.isoformat(), "s": service, "f": fields}
    body = base64.urlsafe_b64encode(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )
    text = body.decode("ascii").rstrip("=")
    return f"{PREFIX}{VERSION}:{text}:{_crc(text)}"


def _field_checks(
    db: sqlite_utils.Database, service: str, values: dict[str, str], today: date
) -> None:
    """The same per-field checks as typed input (what can be checked without the counter)."""
    form = Form(values)
    labels = SERVICES[service][2]
    choices: dict[str, list[str]] = {
        "relation": list(certificates.RELATIONS if service == "cert" else disaster.RELATIONS),
        "route": list(mynumber.ROUTES),
        "ownership": list(disaster.OWNERSHIP),
        "water_level": list(disaster.WATER_LEVELS),
    }
    if service == "cert":
        choices["service_code"] = [s.code for s in certificates.certificate_types(db)]
    elif service == "garbage":
        choices["service_code"] = [s.code for s in catalog.services(db, "garbage")]
    elif service == "disaster":
        choices["disaster_id"] = [d.id for d in disaster.disasters(db)]
        choices["cause"] = list(disaster.causes_for(db, values.get("disaster_id") or None))
    for name, value in values.items():
        label = labels[name]
        rule = field_rule(name)
        if rule.kind == "choice":
            if value:
                form.choice(name, label, choices.get(name, []))
        elif rule.kind == "birth_date":
            form.birth_date(name, label, today=today)
        elif rule.kind == "phone":
            form.phone(name, label)
        elif rule.kind == "integer":
            form.integer(name, label, lo=rule.lo, hi=rule.hi, default=rule.lo)
        elif rule.kind == "application_id":
            form.text(name, label, required=False, max_len=rule.max_len)
            digits = re.sub(r"[\s-]", "", value)
            if digits and (not digits.isdigit() or len(digits) != mynumber.APPLICATION_ID_DIGITS):
                form.fail(name, f"申請書IDは{mynumber.APPLICATION_ID_DIGITS}桁の数字です")
        else:
            form.text(name, label, required=False, max_len=rule.max_len)
    if form.errors:
        first, message = next(iter(form.errors.items()))
        raise PrefillError(f"QRコードの内容に誤りがあります({labels[first]}): {message}")


def decode(db: sqlite_utils.Database, text: str, *, today: date) -> Prefill:
    """Read a scanned payload, or raise :class:`PrefillError` (nothing is filled)."""
    raw = text.strip()
    m = re.fullmatch(r"(?i)ODK(\d+):([A-Za-z0-9_-]*):([0-9a-fA-F]{8})", raw)
    if m is None:
        if re.match(r"(?i)ODK(\d+):", raw) and not re.match(rf"(?i)ODK{VERSION}:", raw):
            raise PrefillError(
                "このQRコードは新しい形式のため読み取れません。窓口で記入してください"
            )
        raise PrefillError("QRコードを最後まで読み取れませんでした。もう一度読み取ってください")
    if int(m[1]) != VERSION:
        raise PrefillError("このQRコードは新しい形式のため読み取れません。窓口で記入してください")
    body, crc = m[2], m[3].lower()
    if _crc(body) != crc:
        raise PrefillError("QRコードを正しく読み取れませんでした。もう一度読み取ってください")
    try:
        doc = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise PrefillError("QRコードの内容を読み取れません。窓口で記入してください") from exc
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise PrefillError("このQRコードは新しい形式のため読み取れません。窓口で記入してください")
    service = doc.get("s")
    if service not in SERVICES:
        raise PrefillError("このQRコードの手続きは車両では受け付けていません")
    try:
        created = date.fromisoformat(str(doc.get("d")))
    except ValueError as exc:
        raise PrefillError("QRコードの作成日が読み取れません。窓口で記入してください") from exc
    if created > today + timedelta(days=1):  # a day of slack for a phone's clock
        raise PrefillError("QRコードの作成日が未来の日付です。窓口で記入してください")
    if today - created > timedelta(days=MAX_AGE_DAYS):
        raise PrefillError(
            f"このQRコードは{MAX_AGE_DAYS}日より前に作成されたため使えません"
            f"(作成日 {created.isoformat()})。もう一度作成するか、窓口で記入してください"
        )
    fields = doc.get("f")
    if not isinstance(fields, dict):
        raise PrefillError("QRコードの内容を読み取れません。窓口で記入してください")
    labels = SERVICES[str(service)][2]
    unknown = [k for k in fields if k not in labels]
    if unknown:
        raise PrefillError(f"QRコードに知らない項目があります({'、'.join(map(str, unknown))})")
    values = {k: "" if v is None else str(v) for k, v in fields.items()}
    _field_checks(db, str(service), values, today)
    return Prefill(str(service), created, values)


def catalogue(db: sqlite_utils.Database) -> dict[str, Any]:
    """What the page offers, from the hub's current master data."""
    fees: dict[str, int | None] = {}
    for s in [*certificates.certificate_types(db), *catalog.services(db, "garbage")]:
        try:
            fees[s.code] = catalog.fee_for(db, s.code, date.today()) if s.chargeable else 0
        except OdekakeError:
            fees[s.code] = None  # no fee row today: the page says to ask at the counter
    return {
        "version": VERSION,
        "max_age_days": MAX_AGE_DAYS,
        "services": {k: {"key": v[0], "title": v[1], "labels": v[2]} for k, v in SERVICES.items()},
        "certificates": [
            {"code": s.code, "name": s.name, "fee": fees.get(s.code)}
            for s in certificates.certificate_types(db)
        ],
        "garbage": [
            {"code": s.code, "name": s.name, "fee": fees.get(s.code)}
            for s in catalog.services(db, "garbage")
        ],
        "cert_relations": list(certificates.RELATIONS),
        "disaster_relations": list(disaster.RELATIONS),
        "routes": list(mynumber.ROUTES),
        "ownership": list(disaster.OWNERSHIP),
        "water_levels": list(disaster.WATER_LEVELS),
        "disasters": [
            {
                "id": d.id,
                "name": d.name,
                "date": d.date,
                "causes": list(disaster.causes_for(db, d.id)),
            }
            for d in disaster.disasters(db)
        ],
    }


SITE_FILES = (
    "index.html",
    "prefill.js",
    "prefill.css",
    "qrcode.js",
    "LICENSE.qrcode-generator.txt",
)


def build_site(db: sqlite_utils.Database, out: Path, *, remember: bool = True) -> list[Path]:
    """Write the static site (no server, no CDN) into ``out``: the pre-fill page and the
    van's schedule by district (:mod:`odekake.residents.schedule_site`); returns the files written.

    With ``remember`` the folder is kept in the hub's settings (``prefill_site_dir``) so
    that every ``plan publish`` rebuilds the schedule there (:func:`rebuild_remembered`).
    """
    from odekake.residents.schedule_site import build_schedule

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OdekakeError(f"{out} を作れません({os_reason(exc)})") from None
    source = resources.files("odekake.residents") / "prefill_site"
    written: list[Path] = []
    data = json.dumps(catalogue(db), ensure_ascii=False, indent=1)
    checks = json.dumps(rules(), ensure_ascii=False, indent=1)
    files: list[tuple[str, str]] = []
    for name in SITE_FILES:
        text = (source / name).read_text(encoding="utf-8")
        if name == "index.html":
            text = text.replace("/*CATALOGUE*/{}", data.replace("</", "<\\/"))
            text = text.replace("/*RULES*/{}", checks.replace("</", "<\\/"))
        files.append((name, text))
    # The rules as their own file too: what the page checks, for anyone to read.
    files.append(("rules.json", checks + "\n"))
    for name, text in files:
        target = out / name
        tmp = target.with_name(target.name + ".part")
        tmp.write_text(text, encoding="utf-8")
        shutil.move(tmp, target)
        written.append(target)
    written += build_schedule(db, out)
    if remember:
        with write(db):
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [SITE_SETTING, str(out.resolve())],
            )
    return written


def rebuild_remembered(db: sqlite_utils.Database) -> Path | None:
    """Rebuild the residents' site where ``odekake prefill site`` last wrote it (after a
    publish: the schedule follows the plan). None when no site was ever built.

    Raises:
        OdekakeError: The folder cannot be written (the reason in Japanese).
    """
    row = db.execute("SELECT value FROM settings WHERE key = ?", [SITE_SETTING]).fetchone()
    if not row or not str(row[0]).strip():
        return None
    out = Path(str(row[0]))
    try:
        build_site(db, out, remember=False)
    except OSError as exc:
        raise OdekakeError(f"{out} を更新できません({os_reason(exc)})") from None
    return out
