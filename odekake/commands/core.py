"""Foundation commands: demo, records, sites, districts, init."""

from __future__ import annotations

from pathlib import Path

import click

from odekake.access import audit
from odekake.masterdata import master, site_files
from odekake.storage import records as rec
from odekake.storage.db import connect

DB_OPTION = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="データベースファイル(van.db または hub.db)",
)


@click.command("init")
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="作成するデータベースファイル",
)
@click.option(
    "--role", type=click.Choice(["van", "hub"]), required=True, help="van(車両)か hub(市役所)か"
)
@click.option("--device-id", default=None, help="車両端末のID(role=van のとき。例: van-1)")
def init_cmd(db_path: Path, role: str, device_id: str | None) -> None:
    """空のデータベースを作り、地区・サービス・手数料・祝日を登録する。"""
    if db_path.exists():
        raise click.UsageError(f"{db_path} はすでにあります")
    if role == "van" and not device_id:
        raise click.UsageError("role=van には --device-id が必要です")
    db = connect(db_path, role=role, create=True, device_id=device_id)  # type: ignore[arg-type]
    master.seed_city(db)
    click.echo(f"{db_path} を作成しました({role})。")


@click.group("records")
def records_group() -> None:
    """記録(追記専用ログ)の確認。"""


@records_group.command("verify")
@DB_OPTION
@click.option("--device", default=None, help="この端末の記録だけを検査する")
def records_verify(db_path: Path, device: str | None) -> None:
    """ハッシュの連鎖と連番を検査し、最初の破損箇所を示す(バックアップは読み取り専用で開く)。"""
    from odekake.operations import backup

    db = backup.open_readonly(db_path) if backup.is_backup_name(db_path) else connect(db_path)
    report = rec.verify(db, device_id=device)
    for dev, n in sorted(report.devices.items()):
        click.echo(f"端末 {dev}: {n} 件")
    if report.purged:
        click.echo(f"(保存期間経過で内容を消去済み: {report.purged} 件。ハッシュは検査済み)")
    if report.ok:
        click.echo("OK: すべての記録の連鎖と連番は正常です。")
        return
    for p in report.problems:
        click.echo(f"NG: {p}", err=True)
    raise SystemExit(1)


@click.group("sites")
def sites_group() -> None:
    """会場(停車場所)マスタのCSV入出力。"""


@sites_group.command("import")
@DB_OPTION
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
def sites_import(db_path: Path, csv_file: Path) -> None:
    """会場をCSVから登録・更新する(1行でも誤りがあれば何も登録しない)。"""
    db = connect(db_path)
    n = site_files.import_sites(db, csv_file, actor=audit.cli_actor())
    click.echo(f"{n} 件の会場を登録・更新しました。")


@sites_group.command("export")
@DB_OPTION
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="出力先(省略時は標準出力)",
)
def sites_export(db_path: Path, out: Path | None) -> None:
    """会場をCSV(UTF-8 BOM付き、Excelでそのまま開けます)で書き出す。"""
    db = connect(db_path)
    _emit(site_files.export_sites(db), out)
    audit.log(db, audit.cli_actor(), "export", "sites")


@click.group("districts")
def districts_group() -> None:
    """地区マスタのCSV入出力。"""


@districts_group.command("import")
@DB_OPTION
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
def districts_import(db_path: Path, csv_file: Path) -> None:
    """地区をCSVから登録・更新する(1行でも誤りがあれば何も登録しない)。"""
    db = connect(db_path)
    n = site_files.import_districts(db, csv_file)
    click.echo(f"{n} 件の地区を登録・更新しました。")


@districts_group.command("export")
@DB_OPTION
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="出力先(省略時は標準出力)",
)
def districts_export(db_path: Path, out: Path | None) -> None:
    """地区をCSV(UTF-8 BOM付き)で書き出す。"""
    db = connect(db_path)
    _emit(site_files.export_districts(db), out)
    audit.log(db, audit.cli_actor(), "export", "districts")


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        click.echo("\ufeff" + text, nl=False)
    else:
        out.write_text(text, encoding="utf-8-sig", newline="")
        click.echo(f"{out} に書き出しました。", err=True)


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="デモ用データベースを作るフォルダ",
)
@click.option("--seed", default=7, show_default=True, help="乱数の種(同じ値なら同じデータ)")
@click.option("--no-kiosk", is_flag=True, help="データを作るだけで端末画面(kiosk)を起動しない")
@click.option("--force", is_flag=True, help="既存のデモデータベースを作り直す")
def demo_cmd(directory: Path, seed: int, no_kiosk: bool, force: bool) -> None:
    """デモ用の hub.db と van.db を作り(架空の住民のみ)、端末画面を起動する。"""
    from odekake.demo import build_demo

    summary = build_demo(directory, seed=seed, force=force)
    click.echo(summary.describe())
    if no_kiosk:
        return
    try:
        from kiosk.app import run_kiosk
    except ImportError:
        click.echo("端末画面(kiosk)はまだ組み込まれていません。", err=True)
        return
    run_kiosk(directory / "van.db")


@records_group.command("show")
@DB_OPTION
@click.option("--id", "record_id", required=True, help="記録のID")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="市役所の秘密鍵(指定すると封印された個人情報を開いて表示し、監査ログに残す)",
)
def records_show(db_path: Path, record_id: str, key_file: Path | None) -> None:
    """記録を1件表示する(個人情報は --key-file があるときだけ、閲覧を監査ログに残して表示)。"""
    import json
    import os

    db = connect(db_path)
    r = rec.get(db, record_id)
    payload = r.payload
    if payload is None:
        click.echo("(保存期間経過のため内容は消去済みです)")
    elif key_file is not None and "sealed" in payload:
        from odekake.storage.sealing import load_private_key, open_payload

        private = load_private_key(key_file, os.environ.get("ODEKAKE_HUB_PASSPHRASE"))
        payload = open_payload(payload, private)
        audit.log(db, audit.cli_actor(), "view.personal", r.id, {"type": r.type})
    click.echo(f"{r.type}  端末 {r.device_id}  {r.seq} 番  {r.wall_time}")
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


COMMANDS: list[click.Command] = [
    init_cmd,
    demo_cmd,
    records_group,
    sites_group,
    districts_group,
]
