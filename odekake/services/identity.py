"""The identity-check rule (本人確認) shared by certificates and My Number support.

One photo ID is enough. Otherwise two documents are needed, and never two of the
weakest kind (e.g. a student card plus a bank card): at least one must be an
official document without a photo (insurance, pension, care insurance…).
"""

from __future__ import annotations

from typing import Any

from odekake.errors import ValidationError

# Photo IDs issued by a public body: one is enough.
PHOTO_IDS: tuple[str, ...] = (
    "運転免許証",
    "マイナンバーカード",
    "旅券",
    "在留カード",
    "特別永住者証明書",
    "運転経歴証明書",
    "身体障害者手帳",
    "精神障害者保健福祉手帳",
    "療育手帳",
)
# Official documents without a photo: two of these, or one of these plus a weak one.
OFFICIAL_DOCS: tuple[str, ...] = (
    "資格確認書(健康保険)",
    "年金手帳・年金証書",
    "介護保険被保険者証",
    "後期高齢者医療被保険者証",
)
# The weakest kind: only together with an official document.
WEAK_DOCS: tuple[str, ...] = ("学生証", "社員証", "キャッシュカード", "預金通帳", "診察券")

ALL_DOCS: tuple[str, ...] = PHOTO_IDS + OFFICIAL_DOCS + WEAK_DOCS


CHIP_DOCUMENT = "マイナンバーカード"
#: The longest name kept as the chip gives it: the card reader refuses a longer one as
#: a malformed card, and a record never holds a cut one.
NAME_ON_CHIP_MAX = 100


def check_identity(
    documents: list[str], *, chip: bool = False
) -> tuple[dict[str, Any] | None, str | None]:
    """Apply the rule to the documents shown.

    Args:
        documents: The documents the resident showed (blank entries ignored).
        chip: The My Number card's chip was read at the counter (PIN verified):
            noted as ``"chip": True`` when the card is among the documents, a
            stronger 本人確認 than a look at the card.

    Returns:
        ``(id_check, None)`` with ``{"kind": "photo"|"two", "documents": [...]}``
        when the rule is met, else ``(None, message)``.
    """
    docs = [d for d in documents if d]
    unknown = [d for d in docs if d not in ALL_DOCS]
    if unknown:
        return None, f"本人確認書類の種類が正しくありません({'、'.join(unknown)})"
    if len(set(docs)) != len(docs):
        return None, "同じ本人確認書類が二重に選ばれています"
    if not docs:
        return None, "本人確認書類を選んでください"
    photos = [d for d in docs if d in PHOTO_IDS]
    if photos:
        if chip and CHIP_DOCUMENT in photos:
            return {"kind": "photo", "documents": [CHIP_DOCUMENT], "chip": True}, None
        return {"kind": "photo", "documents": photos[:1]}, None
    if len(docs) < 2:
        return None, "写真のない書類は2点必要です(写真付きの書類なら1点)"
    if all(d in WEAK_DOCS for d in docs):
        return None, "学生証・キャッシュカードなどだけの組み合わせでは確認できません"
    return {"kind": "two", "documents": docs[:2]}, None


def chip_name(values: dict[str, Any]) -> dict[str, str]:
    """The name exactly as the card's chip holds it, 外字 included, when it differs from
    what the counter could show (kept inside the person's sealed data)."""
    raw = values.get("name_on_chip")
    if not values.get("identity_from_chip") or not isinstance(raw, str) or not raw.strip():
        return {}
    if len(raw) > NAME_ON_CHIP_MAX:
        raise ValidationError(f"ICチップの氏名が長すぎます({NAME_ON_CHIP_MAX}字まで)")
    return {"name_on_chip": raw}
