"""The ``odekake plan`` command: the coordinator's tour planner."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from odekake.db import connect
from odekake.errors import OdekakeError


@click.command("plan")
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="市役所(ハブ)のデータベース hub.db",
)
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="計画の設定ファイル(TOML、examples/plan.toml を参照)",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="計画の出力先 plan.json",
)
@click.option(
    "--solver",
    type=click.Choice(["highs", "cbc"]),
    default="highs",
    show_default=True,
    help="使うソルバー",
)
@click.option(
    "--time-limit", type=float, default=60.0, show_default=True, help="計算の制限時間(秒)"
)
@click.option(
    "--gap",
    type=float,
    default=0.001,
    show_default=True,
    help="この相対ギャップ(0.001 = 0.1%)以下になったら計算を終える",
)
@click.option("--replan-from", default=None, help="この日(YYYY-MM-DD)以降を計画し直す")
@click.option(
    "--keep",
    "keep_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="計画し直すときの前回の plan.json(この日より前はそのまま、告知済みの訪問はなるべく動かさない)",
)
@click.option(
    "--pdf",
    "pdf_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="月間カレンダーPDFの出力先",
)
@click.option(
    "--ics-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="車両ごとの iCalendar(.ics)の出力先フォルダ",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV(UTF-8 BOM付き)の出力先",
)
@click.option(
    "--notices-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="地区ごとの回覧板用お知らせPDFの出力先フォルダ",
)
@click.option("--today", default=None, hidden=True, help="今日の日付(テスト用)")
def plan_cmd(
    db_path: Path,
    policy_path: Path,
    out_path: Path,
    solver: str,
    time_limit: float,
    gap: float,
    replan_from: str | None,
    keep_path: Path | None,
    pdf_path: Path | None,
    ics_dir: Path | None,
    csv_path: Path | None,
    notices_dir: Path | None,
    today: str | None,
) -> None:
    """巡回計画を作る(どの日にどの会場を回るか)。結果を plan.json と hub.db に保存する。"""
    from planner import output
    from planner.model import build
    from planner.policy import load_policy, read_keep
    from planner.solve import solve

    def parse_day(text: str, what: str) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise OdekakeError(f"{what}は YYYY-MM-DD で指定してください({text})") from exc

    if (replan_from is None) != (keep_path is None):
        raise OdekakeError("計画し直すときは --replan-from と --keep を両方指定してください")
    if time_limit <= 0 or not 0 <= gap < 1:
        raise OdekakeError("--time-limit は正の秒数、--gap は0以上1未満です")
    db = connect(db_path)
    keep = read_keep(keep_path) if keep_path is not None else ()
    data = load_policy(
        policy_path,
        db,
        today=parse_day(today, "--today") if today else None,
        replan_from=parse_day(replan_from, "--replan-from") if replan_from else None,
        keep=keep,
    )
    result = solve(build(data), solver=solver, time_limit=time_limit, gap=gap)
    output.write_json(result, out_path)
    output.store(db, result, policy_path.read_text(encoding="utf-8"))
    s = result.solver
    gap_text = "不明" if s.gap is None else f"{100 * s.gap:.3f}%"
    bound_text = "不明" if s.bound is None else f"{s.bound:.2f}"
    click.echo(
        f"計画を作成しました: {result.horizon_start}〜{result.horizon_end}、訪問 {len(result.visits)} 件"
        f"(ソルバー {s.name}、{s.status}、目的関数 {s.objective:.2f}、上界 {bound_text}、"
        f"ギャップ {gap_text}、{s.seconds:.1f}秒)"
    )
    for note in result.notes:
        click.echo(f"注意: {note}")
    click.echo(f"{out_path} に書き出し、{db_path} に保存しました(計画ID {result.id})。")
    if pdf_path is not None:
        output.write_calendar_pdf(result, pdf_path)
        click.echo(f"カレンダーPDF: {pdf_path}")
    if ics_dir is not None:
        for p in output.write_ics(result, ics_dir):
            click.echo(f"iCalendar: {p}")
    if csv_path is not None:
        output.write_csv(result, csv_path)
        click.echo(f"CSV: {csv_path}")
    if notices_dir is not None:
        files = output.write_notices(result, notices_dir)
        click.echo(f"回覧板用お知らせ: {len(files)} 地区分を {notices_dir} に作成しました")


COMMANDS: list[click.Command] = [plan_cmd]
