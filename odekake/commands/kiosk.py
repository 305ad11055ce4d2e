"""The ``odekake kiosk`` command: the operators' screen on the van."""

from __future__ import annotations

from pathlib import Path

import click

from odekake.errors import NotFound, OdekakeError


@click.command("kiosk")
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="車両のデータベース(van.db)",
)
@click.option("--idle-minutes", default=5.0, show_default=True, help="無操作でロックするまでの分数")
def kiosk_cmd(db_path: Path, idle_minutes: float) -> None:
    """車両の窓口端末(キーボード操作)を起動する。"""
    if not db_path.exists():
        raise NotFound(f"データベースファイルがありません: {db_path}")
    # A damaged van database is caught before the operator starts serving anyone.
    from odekake import health

    result = health.check(db_path)
    # A missing sealing key does not stop the kiosk: it refuses personal data and
    # says why on each form (odekake.records.require_seal_key).
    if not result.intact:
        raise OdekakeError(result.message())
    from kiosk.app import KioskSettings, run_kiosk

    run_kiosk(db_path, settings=KioskSettings(idle_minutes=idle_minutes))


COMMANDS: list[click.Command] = [kiosk_cmd]
