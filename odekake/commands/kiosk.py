"""The ``odekake kiosk`` command: the operators' screen on the van."""

from __future__ import annotations

from pathlib import Path

import click

from odekake.errors import NotFound, OdekakeError

MAX_IDLE_MINUTES = 120
"""Longest ``--idle-minutes`` (two hours): past that an unattended kiosk stays open."""


def _idle_minutes(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A positive whole number of minutes up to :data:`MAX_IDLE_MINUTES`."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_IDLE_MINUTES:
        raise OdekakeError(
            f"--idle-minutes は1から{MAX_IDLE_MINUTES}までの整数(分)で指定してください({text[:20]})"
        )
    return int(text)


@click.command("kiosk")
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="車両のデータベース(van.db)",
)
@click.option(
    "--idle-minutes",
    default="5",
    show_default=True,
    callback=_idle_minutes,
    help=f"無操作でロックするまでの分数(1〜{MAX_IDLE_MINUTES} の整数)",
)
@click.option(
    "--printer",
    default=None,
    envvar="ODEKAKE_PRINTER",
    help="領収書・受付控を印刷する CUPS プリンタ名(lp -d)。省略時は PDF のみ",
)
@click.option(
    "--log",
    "log_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="端末のログファイル(エラーと詳細)。既定はデータベースと同じフォルダの kiosk.log",
)
@click.option(
    "--ca-file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="https のハブの証明書を確かめる市のCA証明書(車両に保存され、自動同期で使う)",
)
def kiosk_cmd(
    db_path: Path,
    idle_minutes: int,
    printer: str | None,
    log_path: Path | None,
    ca_file: Path | None,
) -> None:
    """車両の窓口端末(キーボード操作)を起動する。"""
    if not db_path.exists():
        raise NotFound(f"データベースファイルがありません: {db_path}")
    # A damaged van database is caught before the operator starts serving anyone.
    from odekake.operations import health

    result = health.check(db_path)
    # A missing sealing key does not stop the kiosk: it refuses personal data and
    # says why on each form (odekake.storage.records.require_seal_key).
    if not result.intact:
        raise OdekakeError(result.message())
    from kiosk.app import KioskSettings, run_kiosk

    if ca_file is not None:
        from odekake.sync.client import remember_ca_file

        remember_ca_file(db_path, ca_file)  # checked now, before the screen takes over

    run_kiosk(
        db_path,
        settings=KioskSettings(
            idle_minutes=idle_minutes, printer=printer, log_path=log_path, ca_file=ca_file
        ),
    )


COMMANDS: list[click.Command] = [kiosk_cmd]
