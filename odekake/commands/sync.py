"""Sync commands: the hub service, device enrollment, push/pull/export/import/status."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import click

from odekake.errors import OdekakeError
from odekake.storage.db import connect, device_id_of

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group("hub")
def hub_group() -> None:
    """市役所(ハブ)の同期サービス。"""


@hub_group.command("serve")
@click.option("--db", "db_path", required=True, type=_FILE, help="ハブのデータベース(hub.db)")
@click.option("--host", default="127.0.0.1", show_default=True, help="待ち受けるアドレス")
@click.option("--port", default=8765, show_default=True, type=int, help="待ち受けるポート")
@click.option("--tls-cert", type=_FILE, default=None, help="HTTPS のサーバ証明書(PEM)")
@click.option("--tls-key", type=_FILE, default=None, help="HTTPS の秘密鍵(PEM)")
@click.option(
    "--log",
    "log_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="ログファイル(省略時は標準エラー。logrotate で移動されても開き直す)",
)
def hub_serve(
    db_path: Path,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    log_file: Path | None,
) -> None:
    """同期サービスを起動する(Ctrl+C で停止)。"""
    from odekake.sync.hub import serve
    from odekake.sync.keys import fingerprint, public_key_text
    from odekake.sync.wire import ensure_hub_key, hub_key_path_for

    connect(db_path, role="hub").close()  # a typo must not start a hub on an empty file
    if (tls_cert is None) != (tls_key is None):
        raise OdekakeError("HTTPS には --tls-cert と --tls-key の両方を指定してください")
    for f in (tls_cert, tls_key):
        if f is not None and not f.is_file():
            raise OdekakeError(f"ファイルがありません: {f}")
    if log_file is not None and not log_file.parent.is_dir():
        raise OdekakeError(f"ログファイルのフォルダがありません: {log_file.parent}")
    signing = public_key_text(ensure_hub_key(db_path))
    with socket.socket() as probe:
        # as uvicorn does: a port left in TIME_WAIT by a crashed hub is reusable
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OdekakeError(
                f"{host}:{port} で待ち受けできません(使用中か、アドレスが違います): {exc.strerror}"
            ) from exc
    scheme = "https" if tls_cert else "http"
    click.echo(f"ハブを起動します: {scheme}://{host}:{port} (データベース {db_path})", err=True)
    click.echo(
        f"ハブの署名鍵: {hub_key_path_for(db_path)}(指紋 {fingerprint(signing)}、公開鍵 {signing})",
        err=True,
    )
    from odekake.operations.backup import serving_lock

    with serving_lock(db_path, purpose="ハブの稼働"):
        try:
            serve(db_path, host, port, tls_cert=tls_cert, tls_key=tls_key, log_file=log_file)
        except ssl.SSLError as exc:
            raise OdekakeError(f"証明書か秘密鍵を読めません: {exc.reason}") from exc


@hub_group.command("backup")
@click.option("--db", "db_path", required=True, type=_FILE, help="ハブのデータベース(hub.db)")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="バックアップを置くフォルダ",
)
@click.option("--keep", default=7, show_default=True, type=int, help="残す世代数")
def hub_backup(db_path: Path, out_dir: Path, keep: int) -> None:
    """ハブの稼働中に一貫したバックアップを作り、検証して、古い世代を整理する。"""
    from odekake.access.audit import cli_actor
    from odekake.operations.backup import take_backup

    click.echo(take_backup(db_path, out_dir, keep=keep, actor=cli_actor()).describe())


@hub_group.command("restore")
@click.option(
    "--from",
    "backup",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="復元するバックアップ(hub-….db)",
)
@click.option("--db", "db_path", required=True, type=_FILE, help="置き換えるハブのデータベース")
def hub_restore(backup: Path, db_path: Path) -> None:
    """バックアップを検証してからハブのデータベースを置き換える(元のファイルは残す)。"""
    from odekake.access.audit import cli_actor
    from odekake.operations.backup import restore

    click.echo(restore(backup, db_path, actor=cli_actor()).describe())
    from odekake.sync.wire import hub_key_path_for, vans_enrolled

    key = hub_key_path_for(db_path)
    if not key.exists() and vans_enrolled(db_path):
        click.echo(
            f"注意: ハブの署名鍵 {key} がありません。起動する前に、元のハブの {key.name} を"
            f" {key.parent} にコピーしてください(車両はその鍵を信用しています)",
            err=True,
        )


@hub_group.command("rotate-key")
@click.option("--db", "db_path", required=True, type=_FILE, help="ハブのデータベース(hub.db)")
@click.option("--yes", is_flag=True, help="確認なしで実行する")
def hub_rotate_key(db_path: Path, yes: bool) -> None:
    """ハブの署名鍵を作り直す(全車両で鍵の登録し直しが必要になります)。"""
    from odekake.access import audit
    from odekake.sync.keys import fingerprint
    from odekake.sync.wire import rotate_hub_key

    db = connect(db_path, role="hub")
    if not yes:
        click.confirm(
            "署名鍵を作り直すと、全車両で odekake device pin-hub --accept-new-hub-key が"
            "必要です。続けますか",
            abort=True,
        )
    old, new, kept = rotate_hub_key(db_path)
    audit.log(
        db,
        audit.cli_actor(),
        "hub.key",
        fingerprint(new),
        {"old": fingerprint(old) if old else "", "new": fingerprint(new)},
    )
    click.echo(f"ハブの署名鍵を作り直しました(指紋 {fingerprint(new)})。古い鍵: {kept}")
    click.echo(f"新しい公開鍵: {new}")
    click.echo(
        "各車両で次を実行してください: odekake device pin-hub --db van.db "
        f"--hub-key {new} --accept-new-hub-key"
    )


@click.group("device")
def device_group() -> None:
    """車両端末の登録と失効(Ed25519 の鍵)。"""


@device_group.command("enroll")
@click.option("--db", "van_path", type=_FILE, default=None, help="車両のデータベース(van.db)")
@click.option("--hub-db", "hub_path", type=_FILE, default=None, help="ハブのデータベース(hub.db)")
@click.option("--device", "device_id", default=None, help="端末ID(省略時は van.db の端末ID)")
@click.option("--public-key", default=None, help="ハブだけで登録するときの公開鍵(base64)")
@click.option("--van-id", default=None, help="この端末が載っている車両ID(省略時は端末IDと同じ)")
@click.option("--replace", is_flag=True, help="別の鍵・失効済みの端末を新しい鍵で登録し直す")
@click.option("--hub-key", default=None, help="車両だけで登録するときのハブの署名公開鍵(base64)")
@click.option(
    "--accept-new-hub-key",
    is_flag=True,
    help="車両に登録済みのハブの鍵を新しい鍵に置き換える(監査ログに残ります)",
)
@click.option(
    "--code",
    default=None,
    help="管理画面で作った登録コード(またはQRコードの odekake-enrol: で始まる文字列)",
)
@click.option("--hub", "hub_url", default=None, help="登録コードで登録するハブのURL")
@click.option(
    "--ca-file", type=_FILE, default=None, help="https のハブの証明書を確かめる市のCA証明書"
)
def device_enroll(
    van_path: Path | None,
    hub_path: Path | None,
    device_id: str | None,
    public_key: str | None,
    van_id: str | None,
    replace: bool,
    hub_key: str | None,
    accept_new_hub_key: bool,
    code: str | None,
    hub_url: str | None,
    ca_file: Path | None,
) -> None:
    """端末の鍵を作り(初回のみ)、ハブに公開鍵を登録し、車両にハブの鍵を登録する。

    ふつうは管理画面の登録コードで: odekake device enroll --db van.db --code CODE --hub URL
    """
    from odekake.sync.enrolment import enroll
    from odekake.sync.keys import device_key_text, fingerprint, key_path_for

    if code is not None or hub_url is not None:
        if hub_path or device_id or public_key or van_id or replace or hub_key:
            raise OdekakeError(
                "登録コードで登録するときは --db、--code、--hub(と --ca-file)だけを指定してください"
            )
        _enroll_with_code(van_path, code, hub_url, ca_file)
        return

    old = None
    if hub_path is not None and (device_id or van_path is not None):
        hub = connect(hub_path, role="hub")
        own = device_id
        if own is None and van_path is not None:
            van = connect(van_path, role="van")
            own = device_id_of(van)
            van.close()
        old = device_key_text(hub, own or "")
        hub.close()
    dev, pub, outcome, hub_pub = enroll(
        van_path,
        hub_path,
        device_id=device_id,
        public_key=public_key,
        van_id=van_id,
        replace=replace,
        hub_key=hub_key,
        accept_new_hub_key=accept_new_hub_key,
    )
    if hub_path is not None:
        from odekake.access import audit

        hub = connect(hub_path, role="hub")
        audit.log(
            hub,
            audit.cli_actor(),
            "device.enrol",
            dev,
            {
                "device": dev,
                "van": van_id or dev,
                "outcome": outcome,
                "old_key": fingerprint(old) if old else "",
                "new_key": fingerprint(pub),
            },
        )
        hub.close()
    if van_path is not None:
        click.echo(f"端末 {dev} の鍵: {key_path_for(van_path)}(権限 600)")
    click.echo(f"公開鍵: {pub}(指紋 {fingerprint(pub)})")
    if hub_pub:
        click.echo(f"ハブの署名公開鍵: {hub_pub}(指紋 {fingerprint(hub_pub)})")
    label = {
        "registered": "ハブに登録しました",
        "unchanged": "ハブに登録済みです(変更なし)",
        "replaced": "ハブの鍵を新しい鍵に置き換えました",
        "key-only": "ハブでは次を実行してください: odekake device enroll --hub-db hub.db "
        f"--device {dev} --public-key {pub}",
    }[outcome]
    click.echo(label)
    if hub_path is not None and van_path is None:
        click.echo(
            f"車両では次を実行してください: odekake device pin-hub --db van.db --hub-key {hub_pub}"
        )
    elif van_path is not None and not hub_pub:
        click.echo("ハブの署名公開鍵がまだ登録されていません(odekake device pin-hub で登録)")


def _enroll_with_code(
    van_path: Path | None, code: str | None, hub_url: str | None, ca_file: Path | None
) -> None:
    from odekake.sync.enrol_client import enrol_with_code
    from odekake.sync.enrol_codes import QR_PREFIX, parse_qr_text

    if van_path is None:
        raise OdekakeError("車両のデータベースを --db で指定してください")
    if not code:
        raise OdekakeError("管理画面に表示された登録コードを --code で指定してください")
    if code.strip().startswith(QR_PREFIX):
        qr_url, code = parse_qr_text(code)
        if hub_url and hub_url.rstrip("/") != qr_url:
            raise OdekakeError(f"--hub がQRコードのハブのURL({qr_url})と違います")
        hub_url = qr_url
    if not hub_url:
        raise OdekakeError("ハブのURLを --hub で指定してください(例: http://10.0.0.5:8765)")
    done = enrol_with_code(van_path, hub_url, code, ca_file=ca_file)
    for line in done.describe():
        click.echo(line)
    click.echo("登録が終わりました。odekake sync push / pull でこのハブと同期できます。")


@device_group.command("pin-hub")
@click.option("--db", "db_path", required=True, type=_FILE, help="車両のデータベース(van.db)")
@click.option("--hub-key", required=True, help="ハブの署名公開鍵(base64、hub serve が表示)")
@click.option(
    "--accept-new-hub-key",
    is_flag=True,
    help="登録済みの鍵と違う鍵に置き換える(管理者が鍵の変更を確認したときだけ)",
)
def device_pin_hub(db_path: Path, hub_key: str, accept_new_hub_key: bool) -> None:
    """車両が信用するハブの署名公開鍵を登録する(変更は監査ログに残ります)。"""
    from odekake.access import audit
    from odekake.sync.keys import fingerprint
    from odekake.sync.wire import pin_hub_key

    db = connect(db_path, role="van")
    outcome = pin_hub_key(db, hub_key, accept_new=accept_new_hub_key, actor=audit.cli_actor())
    label = {
        "pinned": "ハブの署名鍵を登録しました",
        "unchanged": "ハブの署名鍵は登録済みです(変更なし)",
        "replaced": "ハブの署名鍵を新しい鍵に置き換えました(監査ログに記録)",
    }[outcome]
    click.echo(f"{label}: 指紋 {fingerprint(hub_key.strip())}")


@device_group.command("revoke")
@click.option("--db", "db_path", required=True, type=_FILE, help="ハブのデータベース(hub.db)")
@click.option("--device", "device_id", required=True, help="失効させる端末ID")
def device_revoke(db_path: Path, device_id: str) -> None:
    """端末を失効させる(以後その端末の送信は拒否される)。"""
    from odekake.access import audit
    from odekake.sync.keys import revoke_device

    db = connect(db_path, role="hub")
    revoke_device(db, device_id)
    audit.log(db, audit.cli_actor(), "device.revoke", device_id, {"device": device_id})
    click.echo(f"端末 {device_id} を失効させました。")


@device_group.command("list")
@click.option("--db", "db_path", required=True, type=_FILE, help="ハブのデータベース(hub.db)")
def device_list(db_path: Path) -> None:
    """登録済みの端末の一覧。"""
    from odekake.sync.keys import fingerprint

    db = connect(db_path, role="hub")
    rows = db.execute(
        "SELECT device_id, van_id, status, enrolled_at, revoked_at, public_key FROM devices "
        "ORDER BY device_id"
    ).fetchall()
    if not rows:
        click.echo("登録された端末はありません。")
    for dev, van, status, enrolled, revoked, pub in rows:
        state = "有効" if status == "active" else f"失効({revoked})"
        click.echo(f"{dev} 車両 {van} {state} 登録 {enrolled} 指紋 {fingerprint(pub)}")


@click.group("sync")
def sync_group() -> None:
    """記録の送信(車両→ハブ)とマスタデータの受信(ハブ→車両)。"""


def _hub_of(db_path: Path, given: str | None) -> str:
    """The hub to sync with: ``--hub``, else the one this van last synced with or enrolled at."""
    if given:
        return given
    from odekake.sync.auth import hub_url_of

    db = connect(db_path, role="van")
    try:
        known = hub_url_of(db)
    finally:
        db.close()
    if not known:
        raise click.UsageError(
            "ハブのURLを --hub で指定してください(この車両はまだどのハブとも同期していません)"
        )
    return known


@sync_group.command("push")
@click.option("--db", "db_path", required=True, type=_FILE, help="車両のデータベース(van.db)")
@click.option(
    "--hub",
    "hub_url",
    default=None,
    help="ハブのURL(例: http://10.0.0.5:8765)。省略時は前回同期した(登録した)ハブ",
)
@click.option("--batch-size", default=2000, show_default=True, help="1回に送る件数")
@click.option("--retries", default=5, show_default=True, help="接続失敗時の再試行回数")
@click.option("--backoff", default=0.5, show_default=True, help="再試行の最初の待ち時間(秒)")
@click.option(
    "--ca-file",
    type=_FILE,
    default=None,
    help="https のハブの証明書を確かめる市のCA証明書(車両に保存され、以後の同期と端末の自動同期でも使う)",
)
def sync_push(
    db_path: Path,
    hub_url: str | None,
    batch_size: int,
    retries: int,
    backoff: float,
    ca_file: Path | None,
) -> None:
    """ハブがまだ受け取っていない記録を送る(何度実行しても二重にならない)。"""
    from odekake.sync.client import ca_file_for, push

    hub_url = _hub_of(db_path, hub_url)
    ca_file = ca_file_for(db_path, ca_file)
    result = push(
        db_path,
        hub_url,
        batch_size=batch_size,
        retries=retries,
        backoff=backoff,
        ca_file=ca_file,
    )
    click.echo(result.describe())


@sync_group.command("export")
@click.option("--db", "db_path", required=True, type=_FILE, help="車両のデータベース(van.db)")
@click.option("--out", required=True, type=_FILE, help="書き出すバンドルファイル(USB など)")
@click.option("--from-seq", type=int, default=None, help="この番号から(省略時はハブ受領済みの次)")
def sync_export(db_path: Path, out: Path, from_seq: int | None) -> None:
    """未同期の記録を署名付きバンドルファイルに書き出す。"""
    from odekake.sync.client import export_bundle

    first, last, count = export_bundle(db_path, out, from_seq=from_seq)
    from odekake.access import audit

    audit.log(connect(db_path), audit.cli_actor(), "export", out.name, {"from": first, "to": last})
    click.echo(f"{out} に {count} 件({first}〜{last} 番)を書き出しました。")


@sync_group.command("import")
@click.option("--db", "db_path", required=True, type=_FILE, help="ハブのデータベース(hub.db)")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
def sync_import(db_path: Path, bundle: Path) -> None:
    """バンドルファイルを検証して取り込む(改ざんがあれば1件も取り込まない)。"""
    from odekake.sync.ingest import ingest_file

    db = connect(db_path, role="hub")
    result = ingest_file(db, bundle)
    click.echo(result.describe())
    from odekake.access import audit
    from odekake.voting.checkin.after_sync import reconcile

    audit.log(db, audit.cli_actor(), "import", str(bundle.name), {"stored": result.stored})
    for incident in reconcile(db):
        click.echo(f"注意: 投票の重複を検出しました(インシデント {incident.id})", err=True)


@sync_group.command("pull")
@click.option("--db", "db_path", required=True, type=_FILE, help="車両のデータベース(van.db)")
@click.option(
    "--hub", "hub_url", default=None, help="ハブのURL。省略時は前回同期した(登録した)ハブ"
)
@click.option("--retries", default=5, show_default=True, help="接続失敗時の再試行回数")
@click.option("--backoff", default=0.5, show_default=True, help="再試行の最初の待ち時間(秒)")
@click.option(
    "--ca-file",
    type=_FILE,
    default=None,
    help="https のハブの証明書を確かめる市のCA証明書(車両に保存され、以後の同期と端末の自動同期でも使う)",
)
def sync_pull(
    db_path: Path, hub_url: str | None, retries: int, backoff: float, ca_file: Path | None
) -> None:
    """マスタデータ(地区・会場・手数料・職員・災害など)とこの車両の計画を受け取る。"""
    from odekake.sync.client import ca_file_for, pull

    hub_url = _hub_of(db_path, hub_url)

    ca_file = ca_file_for(db_path, ca_file)
    result = pull(db_path, hub_url, retries=retries, backoff=backoff, ca_file=ca_file)
    click.echo(result.describe())


@sync_group.command("status")
@click.option("--db", "db_path", required=True, type=_FILE, help="van.db または hub.db")
def sync_status(db_path: Path) -> None:
    """同期の状況(ハブ: 端末ごと、車両: 未同期件数と最終同期時刻)。"""
    from odekake.sync.status import status_text

    db = connect(db_path)
    click.echo(status_text(db))


COMMANDS: list[click.Command] = [hub_group, device_group, sync_group]
