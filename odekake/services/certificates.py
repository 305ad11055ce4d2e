"""Certificate issue (証明書): validation, fee, receipt number, and void (書損).

Form values (strings and booleans as the screen reads them):
``service_code``, ``copies``, ``name``, ``kana``, ``address``, ``birth_date``,
``phone``, ``relation`` (本人/同一世帯/代理人), ``proxy_letter`` (委任状 confirmed),
``subject_name`` (whose certificate, when not the requester), ``id_doc1``,
``id_doc2``, ``inkan_card`` (印鑑登録証 shown), ``optional_items`` (list),
``purpose``, ``payment`` (``cash``/``cashless``).
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from odekake.access import audit, authz
from odekake.errors import NotFound, OdekakeError
from odekake.masterdata import catalog
from odekake.receipts import next_receipt_no
from odekake.services.common import (
    PAYMENTS,
    Actor,
    Form,
    addressee_fields,
    require_counter_role,
)
from odekake.services.dayclose import require_day_open
from odekake.services.identity import check_identity, chip_name
from odekake.services.stops import require_stop
from odekake.storage import records as rec
from odekake.storage.db import write

RECORD_TYPE = "certificate.issue"
RELATIONS: tuple[str, ...] = ("本人", "同一世帯", "代理人")
OPTIONAL_ITEMS: tuple[str, ...] = ("世帯主・続柄", "本籍", "個人番号", "住民票コード")
# Items that a proxy (代理人) may never receive.
PROXY_FORBIDDEN: tuple[str, ...] = ("個人番号", "住民票コード")
# Optional items only make sense on these certificates.
ITEM_SERVICES: tuple[str, ...] = ("cert.juminhyo", "cert.jominhyo", "cert.kisai")
INKAN_CODE = "cert.inkan"
VOID_REASON = "書損"


def certificate_types(db: sqlite_utils.Database) -> list[catalog.Service]:
    """The certificate types in the ``services`` table, in display order."""
    return catalog.services(db, "certificate")


def validate(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the whole form; return the record payload (without ``receipt_no``).

    Raises:
        FormErrors: One message per bad field; nothing is written.
    """
    form = Form(values)
    types = {s.code: s for s in certificate_types(db)}
    code = form.choice("service_code", "証明書の種類", list(types))
    copies = form.integer("copies", "部数", lo=1, hi=20)
    name = form.text("name", "氏名", max_len=40)
    kana = form.text("kana", "ふりがな", required=False, max_len=40)
    address = form.text("address", "住所", max_len=100)
    birth = form.birth_date("birth_date", "生年月日", today=actor.day)
    phone = form.phone("phone", "電話番号")
    relation = form.choice("relation", "請求者と本人の関係", RELATIONS)
    subject = form.text("subject_name", "証明が必要な方の氏名", required=False, max_len=40)
    if relation == "本人" and subject:
        form.fail("subject_name", "本人の請求では対象者の氏名は入力しません。空欄にしてください")
    if relation in ("同一世帯", "代理人") and not subject:
        form.fail("subject_name", "証明が必要な方の氏名を入力してください")
    if relation == "代理人" and not form.flag("proxy_letter"):
        form.fail("proxy_letter", "代理人の請求には委任状の確認が必要です")
    id_check, id_error = check_identity(
        [str(values.get("id_doc1") or ""), str(values.get("id_doc2") or "")],
        chip=bool(values.get("identity_from_chip")),
    )
    if id_error:
        form.fail("id_doc1", id_error)
    if code == INKAN_CODE and not form.flag("inkan_card"):
        form.fail("inkan_card", "印鑑登録証明書には印鑑登録証(カード)が必要です")
    items = [str(i) for i in (values.get("optional_items") or [])]
    bad = [i for i in items if i not in OPTIONAL_ITEMS]
    if bad:
        form.fail("optional_items", f"記載事項の値が正しくありません({'、'.join(bad)})")
    elif items and code and code not in ITEM_SERVICES:
        form.fail("optional_items", "この証明書には記載事項を選べません")
    elif relation == "代理人" and any(i in PROXY_FORBIDDEN for i in items):
        form.fail("optional_items", "代理人の請求では個人番号・住民票コードを記載できません")
    purpose = form.text("purpose", "使用目的", required=False, max_len=60)
    addressee = form.text("addressee", "宛名", required=False, max_len=40)
    payment = form.choice("payment", "支払方法", list(PAYMENTS))
    fee_each = form.fee(db, code, actor.day)
    form.raise_if_any()
    return {
        "stop_id": actor.stop_id,
        "people": 1,
        "service_code": code,
        "service_name": types[code].name,
        "copies": copies,
        "fee_each": fee_each,
        "amount": fee_each * copies,
        "payment": payment,
        "requester": {
            "name": name,
            "kana": kana,
            "address": address,
            "birth_date": birth,
            "phone": phone,
            **chip_name(values),
        },
        "relation": relation,
        "subject_name": subject or name,
        "proxy_letter": relation == "代理人",
        "id_check": id_check,
        "inkan_card": code == INKAN_CODE,
        "optional_items": items,
        "purpose": purpose,
        "operator_id": actor.operator_id,
        **addressee_fields(addressee),
    }


def issue(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> rec.Record:
    """Validate and record one certificate issue with the next receipt number.

    The receipt number is taken inside the same write transaction as the record,
    so two issues never share a number and a failed write uses none.
    """
    payload = validate(db, values, actor)
    require_counter_role(db, actor)
    with write(db):
        require_stop(db, actor.stop_id)
        if payload["amount"] > 0:
            require_day_open(db, actor.day)
        payload["receipt_no"] = next_receipt_no(db, actor.day)
        return rec.append(db, RECORD_TYPE, payload, now=actor.now)


def find_by_receipt(db: sqlite_utils.Database, receipt_no: str) -> rec.Record:
    """The live (not voided, not superseded) record holding a receipt number."""
    wanted = receipt_no.strip()
    items = list(rec.iter_records(db))
    superseded = {r.supersedes for r in items if r.supersedes}
    for r in items:
        if r.payload and r.payload.get("receipt_no") == wanted and r.type != rec.VOID:
            if r.id in superseded:
                raise OdekakeError(f"領収番号 {wanted} はすでに取り消されています(書損)")
            return r
    raise NotFound(f"領収番号がありません: {wanted}")


def void_receipt(
    db: sqlite_utils.Database,
    receipt_no: str,
    *,
    operator_id: str,
    roles: tuple[str, ...] | list[str] = (),
    now: Any = None,
    approval: authz.Approval | None = None,
) -> rec.Record:
    """Void one of today's receipts (書損): a ``record.void`` supersedes it; the number stays used.

    Only a receipt issued today (JST) on this van can be voided at the counter:
    an older one is a correction made at city hall. A day whose 日計 is closed
    must be re-opened first, so that every void shows in its day's 日計表.

    Raises:
        PermissionDenied: Only a supervisor (監督者) may void a receipt, or an
            operator with a supervisor's ``approval`` (id + PIN). Roles are read
            from the operators table (``roles`` from the UI is not trusted).
        OdekakeError: Another day's receipt, or today's 日計 is closed.
    """
    from odekake.services.common import local_date
    from odekake.services.dayclose import require_day_open

    del roles  # kept for callers; the operators table decides (odekake.access.authz), audited
    when = now or rec.utc_now()
    today = local_date(when)
    from odekake.storage.db import device_id_of

    # The role first (audited when refused), whatever the number typed.
    approver = authz.require(db, operator_id, "void", approval)
    target = find_by_receipt(db, receipt_no)
    issued = local_date(target.wall_datetime)
    if target.device_id != device_id_of(db):
        raise OdekakeError(
            f"領収番号 {receipt_no.strip()} はこの車両の領収書ではありません。"
            "市役所で訂正の手続きをしてください"
        )
    if issued != today:
        raise OdekakeError(
            f"領収番号 {receipt_no.strip()} は{issued.year}年{issued.month}月{issued.day}日の"
            "領収書です。窓口では当日の領収書しか取り消せません。"
            "市役所で訂正の手続きをしてください"
        )
    with write(db):
        target = find_by_receipt(db, receipt_no)
        require_day_open(db, today)
        detail: dict[str, Any] = {"record_id": target.id}
        if approver:
            detail["approved_by"] = approver
        audit.log(db, operator_id, "record.void", receipt_no, detail)
        payload: dict[str, Any] = {
            "reason": VOID_REASON,
            "operator_id": operator_id,
            "target": target.id,
            "receipt_no": target.payload["receipt_no"] if target.payload else receipt_no,
            "voided_type": target.type,
        }
        if approver:
            payload["approved_by"] = approver
        return rec.append(db, rec.VOID, payload, supersedes=target.id, now=now)
