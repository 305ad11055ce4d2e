"""何度も書かない: the residents' pre-fill page."""

from __future__ import annotations

from pathlib import Path

import click

from odekake.storage.db import connect

COMMANDS: list[click.Command] = []


@click.group("prefill")
def prefill_group() -> None:
    """住民が事前に入力してQRコードを作るページ(何度も書かない窓口)。"""


@prefill_group.command("site")
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="ハブのデータベース(hub.db)",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="ページを書き出すフォルダ(市のウェブサイトに置く)",
)
def prefill_site(db_path: Path, out_dir: Path) -> None:
    """事前記入ページ(HTML/JS/CSS)と、公開中の計画から地区別の予定ページを書き出す。"""
    from odekake.residents.prefill import build_site

    db = connect(db_path, role="hub")
    try:
        files = build_site(db, out_dir)
    finally:
        db.close()
    click.echo(
        f"事前記入ページを書き出しました: {out_dir / 'index.html'}(ファイル {len(files)} 個)"
    )
    click.echo(
        f"地区別の予定: {out_dir / 'schedule' / 'index.html'}(計画を公開するたびに作り直します)"
    )
    click.echo("サーバーは不要です。フォルダごと市のウェブサイトに置いてください。")


COMMANDS.append(prefill_group)
