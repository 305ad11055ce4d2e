"""Security commands: the hub's sealing key, the audit log."""

from __future__ import annotations

import os
from pathlib import Path

import click

from odekake.access import audit
from odekake.storage.db import connect, get_meta, set_meta, write
from odekake.storage.records import SEAL_KEY_META
from odekake.storage.sealing import generate_keypair, save_private_key

_DB = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="データベースファイル",
)


@click.group("keys")
def keys_group() -> None:
    """市役所の暗号鍵(個人情報の封印用)。"""


@keys_group.command("init")
@click.option(
    "--db", "db_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="hub.db"
)
@click.option(
    "--key-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="秘密鍵の保存先(車両には置かないこと)",
)
@click.option(
    "--force",
    is_flag=True,
    help="既存の鍵を置き換える(古い鍵で封印された記録は古い鍵でしか開けません)",
)
def keys_init(db_path: Path, key_file: Path, force: bool) -> None:
    """封印用の鍵ペアを作り、公開鍵を hub.db に登録する(同期で車両に配られます)。

    秘密鍵のパスフレーズは環境変数 ODEKAKE_HUB_PASSPHRASE で与えます。
    """
    if key_file.exists() and not force:
        raise click.UsageError(f"{key_file} はすでにあります(置き換えるときは --force)")
    db = connect(db_path, role="hub")
    if not force and get_meta(db, SEAL_KEY_META):
        # A new key-file path must not silently replace city hall's sealing key: what
        # the vans seal from then on would open only with the new private key.
        raise click.UsageError(
            f"{db_path} には封印用の鍵がすでに登録されています(置き換えるときは --force)"
        )
    private, public = generate_keypair()
    save_private_key(private, key_file, os.environ.get("ODEKAKE_HUB_PASSPHRASE"))
    with write(db):
        # settings travel to the vans with the next pull
        db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [SEAL_KEY_META, public],
        )
        replaced = get_meta(db, SEAL_KEY_META)
        set_meta(db, SEAL_KEY_META, public)
        audit.log(
            db,
            audit.cli_actor(),
            "keys.init",
            "sealing",
            {"device": "hub", "public_key": public, "replaced": replaced},
        )
    from odekake.storage.receipt_mac import hub_secret

    hub_secret(db)  # the receipts' 確認コード secret, made once with the hub's keys
    click.echo(f"鍵を作成しました。秘密鍵: {key_file}(権限 0600)")
    from odekake.sync.keys import fingerprint, public_key_text
    from odekake.sync.wire import ensure_hub_key, hub_key_path_for

    signing = public_key_text(ensure_hub_key(db_path))  # made once; kept on --force
    click.echo(f"ハブの署名鍵: {hub_key_path_for(db_path)}(指紋 {fingerprint(signing)})")


@click.group("audit")
def audit_group() -> None:
    """監査ログ(ログイン・閲覧・訂正・取消・書き出し・消去の記録)。"""


@audit_group.command("verify")
@_DB
def audit_verify(db_path: Path) -> None:
    """監査ログのハッシュ連鎖を検査する。"""
    db = connect(db_path)
    problems = audit.verify(db)
    n = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    if problems:
        for p in problems:
            click.echo(f"NG: {p}", err=True)
        raise SystemExit(1)
    click.echo(f"OK: 監査ログ {n} 件の連鎖は正常です。")


@audit_group.command("list")
@_DB
@click.option("--last", default=50, show_default=True, help="新しい順にこの件数を表示")
def audit_list(db_path: Path, last: int) -> None:
    """監査ログを表示する。"""
    db = connect(db_path)
    for e in audit.entries(db, limit=last):
        label = audit.ACTIONS.get(e.action, e.action)
        click.echo(f"{e.seq:>6}  {e.at}  {e.actor:<10} {label:<12} {e.target}")


@click.command("purge")
@_DB
@click.option("--dry-run", is_flag=True, help="消去せず、消去される件数だけを表示する")
@click.option(
    "--days", type=int, default=None, help="保存期間(日)。省略時はマスタの retention_days"
)
def purge_cmd(db_path: Path, dry_run: bool, days: int | None) -> None:
    """市役所が受領を確認してから保存期間を過ぎた個人情報を車両から消去する。"""
    from odekake.operations import retention

    db = connect(db_path, role="van")
    plan = retention.purge(db, actor="cli", days=days, dry_run=dry_run)
    click.echo(plan.describe(dry_run=dry_run))


@click.command("doctor")
@_DB
@click.option(
    "--hub-db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="バックアップを検査するとき: そのハブの hub.db(署名鍵 hub.db.sign.key で目録を確かめる)",
)
def doctor_cmd(db_path: Path, hub_db: Path | None) -> None:
    """データベースの整合性・記録の連鎖・監査ログを検査し、異常時は復旧方法を示す。

    バックアップ(hub-….db)は読み取り専用で開き、署名付きの目録と一致するかも確かめます。
    """
    from odekake.operations import health

    result = health.check(db_path, hub_db=hub_db)
    click.echo(result.message(), err=not result.ok)
    if not result.ok:
        raise SystemExit(1)


@click.group("receipt")
def receipt_group() -> None:
    """領収書・受付控の確認コード(市役所で真正性を確かめる)。"""


@receipt_group.command("verify")
@_DB
@click.argument("parts", nargs=-1, required=True)
def receipt_verify(db_path: Path, parts: tuple[str, ...]) -> None:
    """確認コードを検証する: QRの文字列 ODEKAKE|番号|金額|コード、または 番号 金額 コード。"""
    from odekake.errors import OdekakeError
    from odekake.services.receipt_book import receipt_status
    from odekake.storage.receipt_mac import device_of_number, verify

    fields = parts[0].split("|")[1:] if len(parts) == 1 else list(parts)
    if len(fields) != 3 or not fields[1].isdigit():
        raise OdekakeError("番号・金額・確認コードの3つを指定してください(QRの文字列でも可)")
    number, amount, code = fields[0], int(fields[1]), fields[2]
    db = connect(db_path, role="hub")
    device = device_of_number(number)
    if not verify(db, device, number, amount, code):
        click.echo(f"NG: {number}(金額 {amount:,} 円)の確認コードが一致しません", err=True)
        raise SystemExit(1)
    status = receipt_status(db, number)
    if status is not None and status.void is not None:
        # Genuine, but no longer a receipt: exit 2, so a script never takes it as valid.
        click.echo(
            f"NG: {number}(車両端末 {device}、金額 {amount:,} 円)は本物の確認コードですが、"
            f"この領収書は書損(無効)です({status.void.when_who()})"
        )
        raise SystemExit(2)
    click.echo(f"OK: {number}(車両端末 {device}、金額 {amount:,} 円)は本物の確認コードです。")
    if status is None:
        click.echo("(この番号の記録はまだ同期されていないため、書損かどうかは確認できません)")


COMMANDS: list[click.Command] = [keys_group, audit_group, purge_cmd, doctor_cmd, receipt_group]
