"""The van's side of sync over HTTP: push records, pull master data.

``push`` asks the hub for its acknowledged mark, then sends the records after it
in signed batches (the bundle format), recording each acknowledgement. Transport
failures are retried with exponential backoff; a batch sent twice is harmless
(the hub ignores records it already has). When the hub stays unreachable the user
gets one clear Japanese line, and the records stay safely on the van.
"""

from __future__ import annotations

import io
import os
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from odekake.errors import OdekakeError
from odekake.storage import strictjson
from odekake.storage.db import connect, device_id_of, write
from odekake.storage.private_files import open_private
from odekake.sync.bundle import export_range
from odekake.sync.keys import key_path_for, load_private_key, now_iso, public_key_text
from odekake.sync.snapshot import apply_snapshot
from odekake.sync.wire import (
    HEADER_HUB_SIGNATURE,
    HEADER_SIGNATURE,
    UNVERIFIED_MESSAGE,
    SignedAnswer,
    UnverifiedAnswer,
    pinned_hub_key,
    signed_headers,
    verify_answer,
)

DEFAULT_BATCH = 2000


class HubUnavailable(OdekakeError):
    """The hub could not be reached (or stayed busy) through every retry."""


class HubCertificateUntrusted(HubUnavailable):
    """The https:// hub's certificate did not verify (no retry: it will not change)."""


def _certificate_refused(exc: BaseException) -> str | None:
    """The reason when a transport error was a failed certificate check, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen.reason or "certificate verify failed")
        seen = seen.__cause__ or seen.__context__
    return None


class HubRefused(OdekakeError):
    """The hub answered with a refusal (its Japanese message is the text)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def tls_verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    """What httpx checks an https:// hub against: a CA file, or the system store."""
    if ca_file is None:
        return True
    if not ca_file.is_file():
        raise OdekakeError(f"CA証明書のファイルがありません: {ca_file}")
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (ssl.SSLError, OSError) as exc:
        raise OdekakeError(f"CA証明書を読めません: {ca_file}") from exc


class HubClient:
    """Signed requests to the hub with retries and backoff; only signed answers count.

    Every answer must carry the hub's signature (the key pinned on the van) over the
    answer and this very request; otherwise :class:`UnverifiedAnswer` is raised and
    nothing is returned to act on.
    """

    def __init__(
        self,
        base_url: str,
        device_id: str,
        key: Ed25519PrivateKey,
        hub_key: Ed25519PublicKey,
        *,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        ca_file: Path | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise OdekakeError(
                "ハブのURLは http:// か https:// で始めてください"
                f"(例: https://10.0.0.5:8765): {base_url}"
            )
        self.base_url = base_url.rstrip("/")
        self.device_id = device_id
        self.key = key
        self.hub_key = hub_key
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, verify=tls_verify(ca_file)
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, body: bytes = b"", params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Send one signed request; return the verified JSON answer."""
        return self.request_signed(method, path, body=body, params=params).data

    def request_signed(
        self, method: str, path: str, *, body: bytes = b"", params: dict[str, str] | None = None
    ) -> SignedAnswer:
        """Send one signed request; retry transport errors and 5xx; verify the answer."""
        url = httpx.URL(path, params=params or {})
        target = url.raw_path.decode("ascii")
        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * (2 ** (attempt - 1)))
            headers = signed_headers(
                self.key, self.device_id, method, target, body, timestamp=str(int(time.time()))
            )
            headers["Content-Type"] = "application/x-ndjson"
            try:
                resp = self._http.request(method, target, content=body, headers=headers)
            except httpx.TransportError as exc:
                reason = _certificate_refused(exc)
                if reason is not None:  # not transient: retrying cannot help
                    raise HubCertificateUntrusted(
                        f"ハブ {self.base_url} の証明書を確かめられません({reason})。"
                        "市のCA証明書を odekake kiosk --ca-file <CA証明書> で指定してください"
                        "(odekake sync push|pull --ca-file でも可。指定は車両に保存されます)。"
                        "記録は車両に安全に残っています"
                    ) from exc
                last = f"{type(exc).__name__}"
                continue
            if resp.status_code >= 500:
                # Nothing is acted on: a retry is safe whoever sent this.
                last = f"HTTP {resp.status_code}{_hub_says(resp)}"
                continue
            hub_sig = resp.headers.get(HEADER_HUB_SIGNATURE)
            if not verify_answer(
                self.hub_key,
                self.device_id,
                headers[HEADER_SIGNATURE],
                resp.status_code,
                resp.content,
                hub_sig,
            ):
                # The hub signs only requests it authenticated: an unknown device's
                # refusal comes unsigned. Nothing is acted on; its words are shown as
                # the unconfirmed claim they are.
                claim = _hub_says(resp) if 400 <= resp.status_code < 500 and not hub_sig else ""
                raise UnverifiedAnswer(
                    UNVERIFIED_MESSAGE + (f"(ハブを名乗る応答、未確認:{claim})" if claim else "")
                )
            try:
                data = strictjson.loads(resp.content)  # a repeated key is refused
            except ValueError:
                last = f"HTTP {resp.status_code} (JSONではない応答)"
                continue
            if not isinstance(data, dict):
                raise UnverifiedAnswer("ハブの応答の形式が正しくありません。何も変更していません")
            if resp.status_code >= 400:
                raise HubRefused(resp.status_code, str(data.get("error", resp.text)))
            assert hub_sig is not None
            return SignedAnswer(
                data,
                self.device_id,
                headers[HEADER_SIGNATURE],
                resp.status_code,
                resp.content,
                hub_sig,
                public_key_text(self.hub_key),
            )
        raise HubUnavailable(
            f"ハブ {self.base_url} に接続できません({self.retries + 1} 回試行、最後の原因: {last})。"
            "ネットワークを確認して、あとでもう一度送信してください。記録は車両に安全に残っています"
        )


def _hub_says(resp: httpx.Response) -> str:
    """The hub's own one-line reason on a 5xx answer (e.g. no sealing key yet)."""
    try:
        text = resp.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f" {text}" if isinstance(text, str) and text else ""


@dataclass
class PushResult:
    """What one ``sync push`` did."""

    device_id: str
    sent: int
    batches: int
    acked_seq: int
    local_seq: int

    def describe(self) -> str:
        """Japanese summary."""
        if self.sent == 0:
            return f"未送信の記録はありません(ハブ受領済み {self.acked_seq} 番まで)。"
        return (
            f"{self.sent} 件を {self.batches} 回に分けて送信しました。"
            f"ハブ受領済み {self.acked_seq} / {self.local_seq} 番"
        )


def record_ack(
    db: sqlite_utils.Database, device_id: str, answer: SignedAnswer, hub_url: str
) -> int:
    """Remember the hub's signed acknowledgement on the van (with its proof).

    Returns:
        The acknowledged mark.
    """
    if answer.data.get("device_id") != device_id:
        raise UnverifiedAnswer("ハブの応答が別の端末あてです。何も変更していません")
    acked = int(answer.data["acked_seq"])
    at = now_iso()
    with write(db):
        db.execute(
            "INSERT INTO sync_state(device_id, acked_seq, acked_at, last_push_at, hub_url) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET "
            "acked_seq = excluded.acked_seq, acked_at = excluded.acked_at, "
            "last_push_at = excluded.last_push_at, hub_url = excluded.hub_url",
            [device_id, acked, at, at, hub_url],
        )
        if "backup_seq" in answer.data:
            # What a verified hub backup holds, as the hub last said (lower after a
            # restore): the purge stays below it, and trusts it only with its proof.
            db.execute(
                "UPDATE sync_state SET backup_seq = ?, backup_evidence = ? WHERE device_id = ?",
                [int(answer.data["backup_seq"]), answer.evidence(), device_id],
            )
        # The retention purge counts its days from each acknowledgement, and trusts
        # only the ones whose hub signature it can check again (the evidence).
        top = db.execute("SELECT MAX(seq) FROM hub_acks").fetchone()[0]
        if top is None or acked > int(top):
            db.execute(
                "INSERT INTO hub_acks(seq, acked_at, evidence) VALUES (?, ?, ?)",
                [acked, at, answer.evidence()],
            )
    return acked


def remember_hub_url(db: sqlite_utils.Database, device_id: str, hub_url: str) -> None:
    """Record the hub this van talks to (a pull alone is enough for the voting screen)."""
    with write(db):
        db.execute(
            "INSERT INTO sync_state(device_id, hub_url) VALUES (?, ?) "
            "ON CONFLICT(device_id) DO UPDATE SET hub_url = excluded.hub_url",
            [device_id, hub_url],
        )


def log_sync(
    db: sqlite_utils.Database,
    direction: str,
    target: str,
    outcome: str,
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    acked_seq: int | None = None,
    message: str = "",
) -> None:
    """Append one line to the van's sync log."""
    with write(db):
        db.execute(
            "INSERT INTO sync_log(at, direction, target, from_seq, to_seq, acked_seq, outcome, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [now_iso(), direction, target, from_seq, to_seq, acked_seq, outcome, message],
        )


def _open(db_path: Path) -> tuple[sqlite_utils.Database, str, Ed25519PrivateKey]:
    db = connect(db_path, role="van")
    return db, device_id_of(db), load_private_key(key_path_for(db_path))


def _client(
    db: sqlite_utils.Database,
    hub_url: str,
    device: str,
    key: Ed25519PrivateKey,
    *,
    retries: int,
    backoff: float,
    ca_file: Path | None,
) -> HubClient:
    return HubClient(
        hub_url,
        device,
        key,
        pinned_hub_key(db),
        retries=retries,
        backoff=backoff,
        ca_file=ca_file,
    )


def push(
    db_path: Path,
    hub_url: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    retries: int = 5,
    backoff: float = 0.5,
    progress: Callable[[int, int], None] | None = None,
    ca_file: Path | None = None,
) -> PushResult:
    """Send every record after the hub's acknowledged mark, in batches."""
    db, device, key = _open(db_path)
    try:
        with _client(
            db, hub_url, device, key, retries=retries, backoff=backoff, ca_file=ca_file
        ) as client:
            mark = client.request_signed("GET", "/v1/ack")
            if mark.data.get("device_id") != device:
                raise UnverifiedAnswer("ハブの応答が別の端末あてです。何も変更していません")
            acked = int(mark.data["acked_seq"])
            top = int(
                db.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM records WHERE device_id = ?", [device]
                ).fetchone()[0]
            )
            if acked > top:
                raise OdekakeError(
                    f"ハブは {acked} 番まで受領済みですが、この車両の記録は {top} 番までです。"
                    "データベースが入れ替わっていないか管理者に確認してください"
                )
            record_ack(db, device, mark, hub_url)
            sent = batches = 0

            def build(first: int) -> tuple[int, int, bytes]:
                last = min(first + batch_size - 1, top)
                buf = io.BytesIO()
                export_range(db, buf, device_id=device, from_seq=first, to_seq=last, key=key)
                return first, last, buf.getvalue()

            # While the hub ingests one batch, the next one is read and signed here:
            # the network call runs in a worker thread, the database stays on this one.
            with ThreadPoolExecutor(max_workers=1) as pool:
                ready = build(acked + 1) if acked < top else None
                while acked < top:
                    if ready is None or ready[0] != acked + 1:
                        ready = build(acked + 1)
                    first, to, body = ready
                    call = pool.submit(client.request_signed, "POST", "/v1/push", body=body)
                    ready = build(to + 1) if to < top else None
                    try:
                        res = call.result()
                    except OdekakeError as exc:
                        log_sync(
                            db,
                            "push",
                            hub_url,
                            "error",
                            from_seq=first,
                            to_seq=to,
                            message=str(exc),
                        )
                        raise
                    if res.data.get("device_id") != device:
                        raise UnverifiedAnswer("ハブの応答が別の端末あてです。何も変更していません")
                    new = int(res.data["acked_seq"])
                    if new < to:
                        raise OdekakeError(
                            f"ハブが {first}〜{to} 番を受領しませんでした(受領済み {new} 番まで)。"
                            + " ".join(str(p) for p in res.data.get("problems", []))
                        )
                    sent += to - acked
                    batches += 1
                    acked = record_ack(db, device, res, hub_url)
                    if progress:
                        progress(acked, top)
            log_sync(db, "push", hub_url, "ok", acked_seq=acked)
            return PushResult(device, sent, batches, acked, top)
    finally:
        db.close()


def export_bundle(db_path: Path, out: Path, *, from_seq: int | None = None) -> tuple[int, int, int]:
    """Write the records after the last acknowledged mark (or from ``from_seq``) to a file.

    The file is written next to its final name and renamed when complete, so a
    half-written bundle never looks like a finished one.

    Returns:
        ``(from_seq, to_seq, count)``.
    """
    db, device, key = _open(db_path)
    try:
        if from_seq is None:
            row = db.execute(
                "SELECT acked_seq FROM sync_state WHERE device_id = ?", [device]
            ).fetchone()
            from_seq = (int(row[0]) if row else 0) + 1
        top = int(
            db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM records WHERE device_id = ?", [device]
            ).fetchone()[0]
        )
        tmp = out.with_name(out.name + ".part")
        with os.fdopen(open_private(tmp), "wb") as fh:  # residents' records: 0600
            info = export_range(db, fh, device_id=device, from_seq=from_seq, to_seq=top, key=key)
        tmp.replace(out)
        log_sync(db, "export", str(out), "ok", from_seq=from_seq, to_seq=top)
        return from_seq, top, info.count
    finally:
        db.close()


# What each table of a snapshot holds, in the words a van's staff would use.
TABLE_LABELS: dict[str, str] = {
    "districts": "地区",
    "sites": "会場",
    "services": "サービス",
    "fees": "手数料",
    "holidays": "休日",
    "disasters": "災害",
    "operators": "職員",
    "vans": "車両",
    "plans": "計画",
    "plan_visits": "計画の停車",
    "settings": "設定",
    "referrals": "紹介先",
    "elections": "選挙",
    "election_ballots": "投票の種類",
    "election_stations": "期日前投票所",
    "election_station_vans": "投票所の担当車両",
    "roll_sealed": "選挙人名簿(暗号化)",
    "roll_wraps": "名簿の鍵(投票事務従事者ごと)",
    "receipt_keys": "領収書の確認鍵",
}


@dataclass
class PullResult:
    """What one ``sync pull`` did."""

    version: int
    changed: bool
    counts: dict[str, int]

    def describe(self) -> str:
        """Japanese summary."""
        if not self.changed:
            return f"マスタデータは最新です(版 {self.version})。"
        detail = "、".join(f"{TABLE_LABELS.get(k, k)} {v}件" for k, v in self.counts.items())
        return f"マスタデータ 版 {self.version} を適用しました: {detail}"


def pull(
    db_path: Path,
    hub_url: str,
    *,
    retries: int = 5,
    backoff: float = 0.5,
    ca_file: Path | None = None,
) -> PullResult:
    """Fetch this van's snapshot and apply it atomically (skipped if unchanged).

    The snapshot is applied only when the hub's signature over it (and over this
    request) verifies with the pinned key.
    """
    db, device, key = _open(db_path)
    try:
        row = db.execute(
            "SELECT snapshot_sha256 FROM sync_state WHERE device_id = ?", [device]
        ).fetchone()
        have = str(row[0]) if row and row[0] else ""
        with _client(
            db, hub_url, device, key, retries=retries, backoff=backoff, ca_file=ca_file
        ) as client:
            snap = client.request("GET", "/v1/snapshot", params={"have": have} if have else None)
        remember_hub_url(db, device, hub_url)
        if snap.get("unchanged"):
            with write(db):
                db.execute(
                    "UPDATE sync_state SET last_pull_at = ? WHERE device_id = ?",
                    [now_iso(), device],
                )
            log_sync(db, "pull", hub_url, "unchanged")
            return PullResult(int(snap["version"]), False, {})
        if snap.get("device_id") != device:
            raise OdekakeError("ハブから別の端末向けのマスタデータが届きました")
        counts = apply_snapshot(db, snap)
        log_sync(db, "pull", hub_url, "ok", message=f"version {snap['version']}")
        return PullResult(int(snap["version"]), True, counts)
    finally:
        db.close()


def usb_export(
    db_path: Path, folder: Path, *, operator_id: str, now: datetime | None = None
) -> tuple[Path, int]:
    """A supervisor writes the unsynced records to a USB stick (a signed bundle file).

    For days without a network: city hall imports the file with ``odekake sync
    import``. Only a supervisor may (``odekake.access.authz``, audited); the file is named
    after the device and the time, written beside its final name and renamed.

    Returns:
        ``(the file, how many records it holds)``.
    """
    from odekake.access import audit, authz

    if not folder.is_dir():
        raise OdekakeError(f"書き出し先のフォルダがありません: {folder}(USBメモリを挿してください)")
    db = connect(db_path, role="van")
    try:
        authz.require(db, operator_id, "export")
        device = device_id_of(db)
    finally:
        db.close()
    stamp = (now or datetime.now(UTC)).astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y%m%d-%H%M%S")
    out = folder / f"odekake-{device}-{stamp}.bundle"
    try:
        first, last, count = export_bundle(db_path, out)
    except OSError as exc:
        raise OdekakeError(f"{folder} に書き込めません: {exc.strerror}") from exc
    db = connect(db_path, role="van")
    try:
        audit.log(db, operator_id, "export", out.name, {"from": first, "to": last, "usb": True})
    finally:
        db.close()
    return out, count


#: The van's own setting (``meta``, never synced): the city's CA certificate for an
#: ``https://`` hub, kept by ``odekake kiosk --ca-file`` and ``sync push|pull --ca-file``.
CA_FILE_META = "hub_ca_file"


def remember_ca_file(db_path: Path, ca_file: Path) -> None:
    """Keep the CA certificate's path in the van's settings (checked to exist first)."""
    from odekake.storage.db import set_meta

    tls_verify(ca_file)  # a missing or unreadable file is refused here, in Japanese
    db = connect(db_path, role="van")
    try:
        with write(db):
            set_meta(db, CA_FILE_META, str(ca_file.resolve()))
    finally:
        db.close()


def ca_file_for(db_path: Path, given: Path | None) -> Path | None:
    """The CA file to use: the one given (and then kept), else the one kept before."""
    from odekake.storage.db import get_meta

    if given is not None:
        remember_ca_file(db_path, given)
        return given
    db = connect(db_path, role="van")
    try:
        kept = get_meta(db, CA_FILE_META)
    finally:
        db.close()
    return Path(kept) if kept else None
