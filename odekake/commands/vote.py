"""Early-voting commands: elections, the roll, the hub check-in service, the report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from odekake.access import audit
from odekake.commands.core import DB_OPTION
from odekake.errors import OdekakeError
from odekake.storage.db import connect
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl

ELECTION_OPTION = click.option("--election", "election_id", required=True, help="選挙ID")


def _audit(db: sqlite_utils.Database, action: str, target: str, detail: dict[str, Any]) -> None:
    """An administrative action, audited where it ran with who ran it (actor, device)."""
    from odekake.access import audit
    from odekake.storage.db import device_id_of

    audit.log(db, audit.cli_actor(), action, target, {"device": device_id_of(db), **detail})


@click.group("election")
def election_group() -> None:
    """選挙(期日前投票期間・投票用紙・投票所)の登録と終了。"""


def _parse_assignments(values: tuple[str, ...]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for v in values:
        station, sep, van = v.partition("=")
        if not sep or not station.strip() or not van.strip():
            raise OdekakeError(f"--van は 投票所ID=車両ID で指定します({v!r})")
        out.append((station.strip(), van.strip()))
    return out


@election_group.command("add")
@DB_OPTION
@click.argument("toml_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--van",
    "vans",
    multiple=True,
    metavar="STATION=VAN",
    help="投票所を担当する車両(端末)。TOMLの vans に加える(複数指定可)",
)
def election_add(db_path: Path, toml_file: Path, vans: tuple[str, ...]) -> None:
    """選挙をTOMLファイルから登録・更新する(書式は docs/voting.md)。"""
    election = el.load_toml(toml_file)
    extra = _parse_assignments(vans)
    for station_id, _ in extra:
        election.station(station_id)
    if extra:
        election = replace(
            election,
            stations=tuple(
                replace(
                    s,
                    vans=tuple(dict.fromkeys([*s.vans, *(v for sid, v in extra if sid == s.id)])),
                )
                for s in election.stations
            ),
        )
        el.election_from_dict(election.to_dict())  # validate the van ids
    db = connect(db_path)
    el.save_election(db, election)
    _audit(db, "election.add", election.id, {"stations": len(election.stations)})
    audit.log(
        db,
        audit.cli_actor(),
        "election.assign",
        election.id,
        {"stations": {s.id: list(s.vans) for s in election.stations}},
    )
    click.echo(
        f"選挙 {election.id}({election.name})を登録しました: 投票用紙 {len(election.ballots)}種類、"
        f"投票所 {len(election.stations)}か所。"
    )
    for s in election.stations:
        who = "、".join(s.vans) if s.vans else "なし(名簿対照できません)"
        click.echo(f"  {s.id}\t{s.name}\t担当車両: {who}")


@election_group.command("assign")
@DB_OPTION
@ELECTION_OPTION
@click.option("--station", "station_id", required=True, help="投票所ID")
@click.option("--van", "van_id", required=True, help="車両ID(または端末ID)")
@click.option("--remove", is_flag=True, help="割り当てを外す(次の下り同期で名簿の写しも消える)")
def election_assign(
    db_path: Path, election_id: str, station_id: str, van_id: str, remove: bool
) -> None:
    """投票所を担当する車両を割り当てる(または外す)。"""
    db = connect(db_path)
    el.assign_van(db, election_id, station_id, van_id, on=not remove)
    audit.log(
        db,
        audit.cli_actor(),
        "election.assign",
        election_id,
        {"station": station_id, "van": van_id, "remove": remove},
    )
    what = "から外しました" if remove else "に割り当てました"
    click.echo(f"車両 {van_id} を投票所 {station_id}(選挙 {election_id}){what}。")


@election_group.command("list")
@DB_OPTION
def election_list(db_path: Path) -> None:
    """登録済みの選挙を一覧表示する。"""
    db = connect(db_path)
    for e in el.list_elections(db):
        state = "終了" if e.closed else "期日前投票"
        click.echo(
            f"{e.id}\t{e.name}\t{e.early_from}〜{e.early_to}\t投票日 {e.election_day}\t"
            f"名簿 {rl.roll_size(db, e.id)}人\t{state}"
        )


@election_group.command("close")
@DB_OPTION
@ELECTION_OPTION
def election_close(db_path: Path, election_id: str) -> None:
    """選挙を終了にする。車両(van.db)では選挙人名簿の写しを削除する。"""
    db = connect(db_path)
    n = rl.close_election(db, election_id)
    _audit(db, "election.close", election_id, {"roll_deleted": n})
    click.echo(f"選挙 {election_id} を終了にしました(名簿の写し {n} 件を削除)。")


@click.group("roll")
def roll_group() -> None:
    """選挙人名簿(ハブで取り込み、下り同期で車両へ。照会専用)。"""


@roll_group.command("import")
@DB_OPTION
@ELECTION_OPTION
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
def roll_import(db_path: Path, election_id: str, csv_file: Path) -> None:
    """選挙人名簿をCSV(UTF-8 または Shift_JIS)から取り込む。誤りが1行でもあれば何も登録しない。"""
    db = connect(db_path)
    n = rl.import_roll(db, election_id, csv_file)
    _audit(db, "roll.import", election_id, {"voters": n, "file": csv_file.name})
    click.echo(f"選挙 {election_id} の選挙人名簿 {n} 人を取り込みました。")


@click.group("vote")
def vote_group() -> None:
    """期日前投票: ハブの名簿対照サービス、照合、報告書。"""


@vote_group.command("serve")
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="待ち受けるアドレス")
@click.option("--port", default=8765, show_default=True, type=int, help="待ち受けるポート")
def vote_serve(db_path: Path, host: str, port: int) -> None:
    """名簿対照(チェックイン)サービスを単独で起動する(試験・デモ用)。

    ハブ(odekake hub serve)と同じ端末署名の確認を通った要求だけを受け付ける。
    """
    from odekake.sync.hub import make_app, run_bounded

    # The hub's own app: /vote/* behind exactly the hub's device-signature guard.
    app = make_app(db_path)
    click.echo(f"名簿対照サービス: http://{host}:{port}/vote/ (Ctrl+C で終了)", err=True)
    run_bounded(app, host, port)


@vote_group.command("reconcile")
@DB_OPTION
def vote_reconcile(db_path: Path) -> None:
    """同期で届いた仮投票・交付の記録を照合し、重複をインシデントにする。"""
    db = connect(db_path, role="hub")
    found = ck.reconcile(db)
    for inc in found:
        click.echo(f"インシデント: {inc.label} 選挙人番号 {inc.voter_no} ({inc.id})")
    click.echo(f"照合しました。新しいインシデント {len(found)} 件。")


@vote_group.command("incidents")
@DB_OPTION
@ELECTION_OPTION
def vote_incidents(db_path: Path, election_id: str) -> None:
    """選挙のインシデント(重複・不整合)を両方の記録とともに表示する。"""
    db = connect(db_path, role="hub")
    el.get_election(db, election_id)
    found = ck.incidents(db, election_id)
    for inc in found:
        f, s = inc["first_event"], inc["second_event"]
        click.echo(
            f"{inc['created_at']}\t{inc['label']}\t選挙人番号 {inc['voter_no']}\t"
            f"1件目 {f.get('type')} {f.get('device_id')} {f.get('wall_time')}\t"
            f"2件目 {s.get('type', '—')} {s.get('device_id', '')} {s.get('wall_time', '')}"
        )
    click.echo(f"{len(found)} 件")


@vote_group.command("report")
@DB_OPTION
@ELECTION_OPTION
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDFの出力先"
)
@click.option(
    "--csv",
    "csv_out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSVの出力先(UTF-8 BOM付き)",
)
def vote_report(db_path: Path, election_id: str, out: Path, csv_out: Path | None) -> None:
    """時間別投票者数(男女別・累計)、交付と名簿対照の比較、投票率をPDF/CSVで出力する。"""
    from odekake.voting import report

    db = connect(db_path)
    t = report.write_pdf(db, election_id, out)
    from odekake.access import audit

    audit.log(
        db, audit.cli_actor(), "export", out.name, {"kind": "vote_report", "election": election_id}
    )
    click.echo(f"{out} に書き出しました。")
    if csv_out is not None:
        report.write_csv(db, election_id, csv_out)
        click.echo(f"{csv_out} に書き出しました。")
    for st in t.stations:
        click.echo(f"{st.station.name}: 投票者 {st.total}人 投票率 {st.turnout_label}")
        click.echo(f"  {report.reconciliation(st)}")
    click.echo(f"全体(重複を除く): 投票者 {t.voters}人 投票率 {t.turnout_label}")
    click.echo(f"インシデント {t.incidents}件(投票者には数えていません)")


COMMANDS: list[click.Command] = [election_group, roll_group, vote_group]
