"""The van's side of a one-time enrolment code (``odekake device enroll --code``).

The van makes its key if it has none, sends the hub a proof that it knows the
code (never the code), and pins the hub key only when the hub's answer carries the
code's MAC over that key, this van's key and the van's fresh nonce
(:mod:`odekake.sync.enrol_codes`). It then keeps the hub's URL as its sync hub.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx

from odekake.errors import OdekakeError
from odekake.storage import strictjson
from odekake.storage.db import connect, device_id_of
from odekake.sync.enrol_codes import (
    answer_proof,
    code_id_of,
    mac_key,
    normalise_code,
    request_proof,
)
from odekake.sync.keys import (
    ensure_van_key,
    fingerprint,
    key_path_for,
    parse_public_key,
    public_key_text,
)

TIMEOUT_SECONDS = 30.0
MAX_ANSWER_BYTES = 4096
UNVOUCHED = (
    "ハブの応答を登録コードで確かめられませんでした(途中で書き換えられた可能性があります)。"
    "ハブの鍵は登録していません。ネットワークを確かめ、管理画面で新しいコードを作ってください"
)


class EnrolFailed(OdekakeError):
    """The enrolment did not complete (the text says why, in Japanese)."""


@dataclass(frozen=True)
class Enrolled:
    """What a completed enrolment did."""

    device_id: str
    van_id: str
    outcome: str
    """``registered``, ``unchanged`` or ``replaced`` (the hub's side)."""
    public_key: str
    hub_key: str
    hub_pin: str
    """``pinned``, ``unchanged`` or ``replaced`` (the van's side)."""
    hub_url: str

    def describe(self) -> list[str]:
        """Japanese lines for the command line and the kiosk."""
        hub_side = {
            "registered": "ハブに端末を登録しました",
            "unchanged": "ハブに登録済みでした(変更なし)",
            "replaced": "ハブに登録されていた古い鍵を新しい鍵に置き換えました",
        }.get(self.outcome, self.outcome)
        van_side = {
            "pinned": "ハブの署名鍵を登録しました",
            "unchanged": "ハブの署名鍵は登録済みでした(変更なし)",
            "replaced": "登録済みだったハブの署名鍵を新しい鍵に置き換えました(監査ログに記録)",
        }.get(self.hub_pin, self.hub_pin)
        return [
            f"端末 {self.device_id}(車両 {self.van_id}): {hub_side}",
            f"端末の公開鍵の指紋: {fingerprint(self.public_key)}",
            f"{van_side}: 指紋 {fingerprint(self.hub_key)}",
            f"同期先のハブ: {self.hub_url}",
        ]


def enrol_with_code(
    db_path: Path, hub_url: str, code: str, *, ca_file: Path | None = None
) -> Enrolled:
    """Redeem ``code`` at ``hub_url`` for the van at ``db_path``.

    Raises:
        EnrolFailed: The hub refused (its Japanese reason), could not be reached, or
            its answer is not vouched for by the code (nothing pinned then).
    """
    from odekake.sync.client import ca_file_for, remember_hub_url, tls_verify
    from odekake.sync.wire import pin_hub_key

    code = normalise_code(code)
    hub_url = hub_url.strip().rstrip("/")
    if not hub_url.startswith(("http://", "https://")):
        raise EnrolFailed(f"ハブのURLは http:// か https:// で始めてください: {hub_url[:80]}")
    van = connect(db_path, role="van")
    try:
        device = device_id_of(van)
    finally:
        van.close()
    public = public_key_text(ensure_van_key(db_path))
    ca = ca_file_for(db_path, ca_file)
    key = mac_key(code)
    code_id = code_id_of(code)
    nonce = secrets.token_hex(16)
    body = {
        "code_id": code_id,
        "device_id": device,
        "public_key": public,
        "nonce": nonce,
        "proof": request_proof(key, code_id, device, public, nonce),
    }
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, verify=tls_verify(ca)) as http:
            answer = http.post(f"{hub_url}/v1/enrol", json=body)
    except httpx.TimeoutException as exc:
        raise EnrolFailed(
            f"ハブ {hub_url} から時間内に応答がありませんでした。ネットワークを確かめて"
            "もう一度試してください"
        ) from exc
    except httpx.HTTPError as exc:
        raise EnrolFailed(
            f"ハブ {hub_url} に接続できませんでした。URLとネットワークを確かめてください"
        ) from exc
    data = _read(answer)
    if answer.status_code != 200:
        message = data.get("error") if isinstance(data, dict) else None
        if not isinstance(message, str) or not message:
            message = f"ハブが登録を断りました(状態 {answer.status_code})"
        # The hub's words, quoted: printable characters only (no terminal control codes).
        shown = "".join(ch for ch in message[:300] if ch.isprintable())
        raise EnrolFailed(f"ハブの返答: {shown}")
    hub_key, van_id, outcome = _vouched(data, key, code_id, device, public, nonce)
    van = connect(db_path, role="van")
    try:
        # The code vouches for this key: it may replace an older pin (audited).
        pinned = pin_hub_key(van, hub_key, accept_new=True, actor=f"enrol-code:{code_id}")
        remember_hub_url(van, device, hub_url)
    finally:
        van.close()
    return Enrolled(device, van_id, outcome, public, hub_key, pinned, hub_url)


def _read(answer: httpx.Response) -> object:
    if len(answer.content) > MAX_ANSWER_BYTES:
        raise EnrolFailed(UNVOUCHED)
    try:
        return strictjson.loads(answer.content)
    except ValueError:
        if answer.status_code == 200:
            raise EnrolFailed(UNVOUCHED) from None
        return None


def _vouched(
    data: object, key: bytes, code_id: str, device: str, public: str, nonce: str
) -> tuple[str, str, str]:
    """``(hub key, van id, outcome)`` when the answer's MAC checks, else EnrolFailed."""
    import hmac

    fields = {"hub_key", "device_id", "van_id", "outcome", "proof"}
    if not isinstance(data, dict) or set(data) != fields:
        raise EnrolFailed(UNVOUCHED)
    if not all(isinstance(v, str) for v in data.values()) or data["device_id"] != device:
        raise EnrolFailed(UNVOUCHED)
    expected = answer_proof(
        key, code_id, data["hub_key"], device, public, nonce, data["van_id"], data["outcome"]
    )
    if not hmac.compare_digest(expected, data["proof"]):
        raise EnrolFailed(UNVOUCHED)
    parse_public_key(data["hub_key"])
    return data["hub_key"], data["van_id"], data["outcome"]


def van_enrolled(db_path: Path) -> bool:
    """True when the van has its own key and a pinned hub key."""
    from odekake.sync.wire import pinned_hub_text

    if not key_path_for(db_path).exists():
        return False
    db = connect(db_path, role="van")
    try:
        return pinned_hub_text(db) is not None
    finally:
        db.close()
