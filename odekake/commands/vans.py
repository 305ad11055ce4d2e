"""``odekake vans add|list|set``: the vans of the master data (id, name, depot, shift)."""

from __future__ import annotations

from pathlib import Path

import click

from odekake.masterdata.vans import Van
from odekake.storage.db import connect

DB_OPTION = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="市役所(ハブ)のデータベース hub.db",
)


@click.group("vans")
def vans_group() -> None:
    """車両マスタ(ID・名前・車庫・勤務時間)の登録・一覧・変更。"""


def _line(v: Van) -> str:
    return (
        f"{v.id}  {v.name}  車庫 {v.depot_name}({v.depot_lat:.5f}, {v.depot_lon:.5f})"
        f"  勤務 {v.shift}"
    )


@vans_group.command("add")
@DB_OPTION
@click.argument("van_id")
@click.option("--name", required=True, help="車両の名前(例: 2号車)")
@click.option("--depot-name", default=None, help="車庫の名前(省略時は市役所)")
@click.option("--lat", type=float, default=None, help="車庫の緯度(例: 37.0505)")
@click.option("--lon", type=float, default=None, help="車庫の経度(例: 140.8877)")
@click.option(
    "--shift", default="08:30-17:15", show_default=True, help="勤務時間(車庫との往復を含む)"
)
def vans_add(
    db_path: Path,
    van_id: str,
    name: str,
    depot_name: str | None,
    lat: float | None,
    lon: float | None,
    shift: str,
) -> None:
    """車両を登録する(車庫を省略すると市役所)。"""
    from odekake.access import audit
    from odekake.masterdata import vans

    v = vans.add(
        connect(db_path),
        van_id,
        name,
        depot_name=depot_name,
        depot_lat=lat,
        depot_lon=lon,
        shift=shift,
        actor=audit.cli_actor(),
    )
    click.echo(f"車両を登録しました: {_line(v)}")


@vans_group.command("list")
@DB_OPTION
def vans_list(db_path: Path) -> None:
    """登録されている車両の一覧。"""
    from odekake.masterdata import vans

    rows = vans.vans(connect(db_path))
    if not rows:
        click.echo("車両は登録されていません(登録: odekake vans add)。")
    for v in rows:
        click.echo(_line(v))


@vans_group.command("set")
@DB_OPTION
@click.argument("van_id")
@click.option("--name", default=None, help="車両の名前")
@click.option("--depot-name", default=None, help="車庫の名前")
@click.option("--lat", type=float, default=None, help="車庫の緯度")
@click.option("--lon", type=float, default=None, help="車庫の経度")
@click.option("--shift", default=None, help="勤務時間(例: 08:30-17:15)")
def vans_set(
    db_path: Path,
    van_id: str,
    name: str | None,
    depot_name: str | None,
    lat: float | None,
    lon: float | None,
    shift: str | None,
) -> None:
    """車両の名前・車庫・勤務時間を変更する(指定した項目だけ)。"""
    from odekake.access import audit
    from odekake.masterdata import vans

    v = vans.update(
        connect(db_path),
        van_id,
        name=name,
        depot_name=depot_name,
        depot_lat=lat,
        depot_lon=lon,
        shift=shift,
        actor=audit.cli_actor(),
    )
    click.echo(f"車両を変更しました: {_line(v)}")


COMMANDS: list[click.Command] = [vans_group]
