"""Operator accounts: add, list, the vans each works on, lift a lock-out."""

from __future__ import annotations

from pathlib import Path

import click

from odekake.access import audit
from odekake.access.auth import pin_problem, weak_pin_reason
from odekake.errors import OdekakeError
from odekake.masterdata import master
from odekake.storage.db import connect, device_id_of

_DB = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="ハブのデータベース(hub.db)。車両へは同期で配られます",
)


def _vans(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [v.strip() for v in text.split(",") if v.strip()]


@click.group("operators")
def operators_group() -> None:
    """職員(窓口担当・投票事務従事者・監督者)の登録、担当車両、ロック解除。"""


@operators_group.command("add")
@_DB
@click.option("--id", "operator_id", required=True, help="職員ID(例: op001)")
@click.option("--name", required=True, help="氏名")
@click.option("--roles", required=True, help="役割(カンマ区切り): operator, clerk, supervisor")
@click.option("--vans", default=None, help="担当する車両ID(カンマ区切り)。省略時はすべての車両")
@click.option(
    "--pin",
    prompt="PIN(6〜8桁)",
    hide_input=True,
    confirmation_prompt="PIN(確認)",
    help="PIN(6〜8桁)。省略時は入力を求めます",
)
def operators_add(
    db_path: Path, operator_id: str, name: str, roles: str, vans: str | None, pin: str
) -> None:
    """職員を登録する(同じIDなら氏名・役割・PINを置き換える)。"""
    _refuse_weak(pin)
    db = connect(db_path)
    role_list = [r.strip() for r in roles.split(",") if r.strip()]
    master.add_operator(db, operator_id, name, role_list, pin, vans=_vans(vans))
    audit.log(
        db,
        audit.cli_actor(),
        "operator.set",
        operator_id,
        {
            "device": device_id_of(db),
            "roles": role_list,
            "vans": master.operator_vans(db, operator_id),
        },
    )
    shown = ", ".join(master.operator_vans(db, operator_id)) or "すべて"
    click.echo(f"職員 {operator_id} を登録しました(担当車両: {shown})。")


def _refuse_weak(pin: str) -> None:
    """A PIN a thief would guess first is refused, with the reason (in Japanese)."""
    problem = pin_problem(pin) or weak_pin_reason(pin)
    if problem:
        raise OdekakeError(problem)


@operators_group.command("reset")
@_DB
@click.option("--id", "operator_id", required=True, help="職員ID")
@click.option(
    "--pin",
    prompt="新しいPIN(6〜8桁)",
    hide_input=True,
    confirmation_prompt="新しいPIN(確認)",
    help="新しいPIN(6〜8桁)。省略時は入力を求めます",
)
def operators_reset(db_path: Path, operator_id: str, pin: str) -> None:
    """職員のPINを設定し直す(役割と担当車両はそのまま。投票事務従事者の鍵も作り直します)。"""
    _refuse_weak(pin)
    db = connect(db_path)
    row = db.execute("SELECT name, roles FROM operators WHERE id = ?", [operator_id]).fetchone()
    if row is None:
        raise OdekakeError(f"職員 {operator_id} は登録されていません")
    master.add_operator(db, operator_id, str(row[0]), str(row[1]).split(","), pin)
    audit.log(db, audit.cli_actor(), "operator.reset", operator_id, {"device": device_id_of(db)})
    click.echo(f"職員 {operator_id} のPINを設定し直しました(次の同期で車両に届きます)。")


@operators_group.command("set")
@_DB
@click.option("--id", "operator_id", required=True, help="職員ID")
@click.option("--vans", default=None, help="担当する車両ID(カンマ区切り)")
@click.option("--all-vans", is_flag=True, help="すべての車両を担当にする")
def operators_set(db_path: Path, operator_id: str, vans: str | None, all_vans: bool) -> None:
    """職員の担当車両を変える(次の同期から、担当外の車両にはPIN照合値を配りません)。"""
    if (vans is None) == (not all_vans):
        raise OdekakeError("--vans か --all-vans のどちらか一方を指定してください")
    db = connect(db_path)
    van_list = [] if all_vans else (_vans(vans) or [])
    if not all_vans and not van_list:
        raise OdekakeError("--vans に車両IDを1つ以上指定してください")
    master.set_operator_vans(db, operator_id, van_list)
    audit.log(
        db,
        audit.cli_actor(),
        "operator.set",
        operator_id,
        {"device": device_id_of(db), "vans": van_list},
    )
    click.echo(f"職員 {operator_id} の担当車両: {', '.join(van_list) or 'すべて'}")


@operators_group.command("list")
@_DB
def operators_list(db_path: Path) -> None:
    """職員の一覧(ID・氏名・役割・担当車両・ロック状態)。"""
    db = connect(db_path)
    rows = db.execute(
        "SELECT o.id, o.name, o.roles, o.active, l.locked_until FROM operators o "
        "LEFT JOIN operator_lockouts l ON l.operator_id = o.id ORDER BY o.id"
    ).fetchall()
    if not rows:
        click.echo("登録された職員はいません。")
    for oid, name, roles, active, locked in rows:
        vans = ", ".join(master.operator_vans(db, oid)) or "すべての車両"
        state = "" if active else " 無効"
        state += f" ロック中({locked}まで)" if locked else ""
        click.echo(f"{oid}  {name}  {roles}  担当: {vans}{state}")


@operators_group.command("unlock")
@_DB
@click.argument("operator_id")
def operators_unlock(db_path: Path, operator_id: str) -> None:
    """PINの誤りでロックされた職員のロックを解除する(監査ログに残ります)。"""
    from odekake.services.login import unlock_operator
    from odekake.storage.records import utc_now

    db = connect(db_path)
    unlock_operator(db, operator_id, actor=audit.cli_actor(), now=utc_now())
    click.echo(f"職員 {operator_id} のロックを解除しました。")


COMMANDS: list[click.Command] = [operators_group]
