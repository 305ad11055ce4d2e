"""The ``odekake plan`` command: the coordinator's tour planner."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from odekake.errors import OdekakeError
from odekake.plans import jst_minute, today_jst
from odekake.storage.db import connect

if TYPE_CHECKING:
    from planner.plan_store import PlanSummary


DB_OPTION = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="市役所(ハブ)のデータベース hub.db",
)


@click.group("plan", invoke_without_command=True)
@click.pass_context
@click.option(
    "--db",
    "db_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="市役所(ハブ)のデータベース hub.db",
)
@click.option(
    "--policy",
    "policy_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="計画の設定ファイル(TOML、examples/plan.toml を参照)",
)
@click.option(
    "--out",
    "out_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="計画の出力先 plan.json(省略可。計画は hub.db に下書きとして保存されます)",
)
@click.option("--label", default="", help="計画一覧に表示するメモ(例: 12月 第1案)")
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
    help="計画し直すときの前回の plan.json(省略時は公開中の計画から計画し直す)",
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
    ctx: click.Context,
    db_path: Path | None,
    policy_path: Path | None,
    out_path: Path | None,
    label: str,
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
    """巡回計画を作り、hub.db に下書きとして保存する(計画IDを表示)。

    下書きは `odekake plan publish` で公開するまで車両に届きません。
    一覧・確認・公開・破棄・CSVの取り込み・ルールの確認は下のサブコマンドで行います。
    """
    if ctx.invoked_subcommand is not None:
        return
    if db_path is None or policy_path is None:
        raise OdekakeError(
            "計画を作るには --db と --policy を指定してください(一覧は odekake plan list --db hub.db)"
        )
    import dataclasses

    from odekake.access import audit
    from planner import output
    from planner.lifecycle import published_keep
    from planner.model import build
    from planner.policy import load_policy, read_keep, refuse_past_start
    from planner.solve import solve

    def parse_day(text: str, what: str) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise OdekakeError(f"{what}は YYYY-MM-DD で指定してください({text})") from exc

    if keep_path is not None and replan_from is None:
        raise OdekakeError("--keep は --replan-from と一緒に指定します")
    if time_limit <= 0 or not 0 <= gap < 1:
        raise OdekakeError("--time-limit は正の秒数、--gap は0以上1未満です")
    db = connect(db_path)
    keep = read_keep(keep_path) if keep_path is not None else ()
    day = parse_day(today, "--today") if today else today_jst()
    data = load_policy(
        policy_path,
        db,
        today=day,
        replan_from=parse_day(replan_from, "--replan-from") if replan_from else None,
        keep=keep,
    )
    refuse_past_start(data.policy, day)
    parent: str | None = None
    if replan_from is not None and keep_path is None:
        # Re-plan from what the vans have: the published visits in force.
        pol = data.policy
        kept, parent = published_keep(
            db, [v.id for v in data.vans], pol.horizon_start, pol.horizon_end
        )
        if not kept:
            raise OdekakeError(
                f"計画し直す元になる公開中の計画がありません({pol.horizon_start}〜{pol.horizon_end})。"
                "先に計画を公開するか、--keep で前回の plan.json を指定してください"
            )
        data = dataclasses.replace(data, keep=kept)
    elif keep_path is not None:
        import json

        try:
            parent = str(json.loads(keep_path.read_text(encoding="utf-8")).get("plan_id") or "")
        except ValueError:
            parent = None
        if parent and db.execute("SELECT 1 FROM plans WHERE id = ?", [parent]).fetchone() is None:
            parent = None
    result = solve(build(data), solver=solver, time_limit=time_limit, gap=gap)
    if out_path is not None:
        output.write_json(result, out_path)
    output.store(
        db,
        result,
        policy_path.read_text(encoding="utf-8"),
        van_ids=[v.id for v in data.vans],
        parent_id=parent or None,
        label=label,
        actor=audit.cli_actor(),
    )
    s = result.solver
    gap_text = "不明" if s.gap is None else f"{100 * s.gap:.3f}%"
    bound_text = "不明" if s.bound is None else f"{s.bound:.2f}"
    driving = {"approximate": "概算", "exact": "走行順どおり"}.get(s.driving_mode, s.driving_mode)
    minutes = sum(int(d["minutes"]) for d in result.driving)
    click.echo(
        f"計画を作成しました: {result.horizon_start}〜{result.horizon_end}、訪問 {len(result.visits)} 件"
        f"(ソルバー {s.name}、{s.status}、目的関数 {s.objective:.2f}、上界 {bound_text}、"
        f"ギャップ {gap_text}、{s.seconds:.1f}秒)"
    )
    click.echo(f"移動時間: 計 {minutes}分(目的関数での扱い: {driving})")
    for note in result.notes:
        click.echo(f"注意: {note}")
    where = f"{out_path} に書き出し、" if out_path is not None else ""
    click.echo(f"{where}{db_path} に下書きとして保存しました(計画ID {result.id})。")
    click.echo(
        f"公開するまで車両には届きません。公開: odekake plan publish --db {db_path} {result.id}"
    )
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


def _plan_line(s: PlanSummary) -> str:
    published = f" 公開 {jst_minute(s.published_at)}" if s.published_at else ""
    in_force = f"(うち有効 {s.in_force})" if s.status == "published" else ""
    label = f" 「{s.label}」" if s.label else ""
    parent = f" 元 {s.parent_id[:8]}" if s.parent_id else ""
    return (
        f"{s.id[:8]}  {s.status_label}  {s.horizon_start}〜{s.horizon_end}  "
        f"車両 {','.join(s.van_ids) or '-'}  訪問 {s.visits}件{in_force}  "
        f"作成 {jst_minute(s.created_at)}{published}{parent}{label}"
    )


@plan_cmd.command("list")
@DB_OPTION
@click.option(
    "--status",
    type=click.Choice(["draft", "published", "superseded", "discarded"]),
    default=None,
    help="この状態の計画だけを表示する",
)
def plan_list(db_path: Path, status: str | None) -> None:
    """保存されている計画の一覧(新しい順)。状態: 下書き・公開中・差し替え済み・破棄。"""
    from planner.plan_store import list_plans

    plans = list_plans(connect(db_path), status=status)
    if not plans:
        click.echo("計画はありません。")
        return
    for s in plans:
        click.echo(_plan_line(s))


@plan_cmd.command("show")
@DB_OPTION
@click.argument("plan_id")
@click.option("--json", "as_json", is_flag=True, help="plan.json の形で表示する")
def plan_show(db_path: Path, plan_id: str, as_json: bool) -> None:
    """計画の中身(日ごとの訪問、地区ごとの回数、注意)を表示する。IDは先頭8文字でも可。"""
    import json

    from planner.plan_store import load_plan, summary

    db = connect(db_path)
    s = summary(db, plan_id)
    plan = load_plan(db, s.id)
    if as_json:
        click.echo(json.dumps(plan.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(_plan_line(s))
    click.echo(f"計画ID {s.id}")
    current = ""
    for v in plan.visits:
        if v.date != current:
            current = v.date
            click.echo(f"{v.date}")
        tag = "" if v.activity == "regular" else f" [{v.activity_label}]"
        click.echo(
            f"  {v.van_id} {v.order}. {v.start}-{v.end} {v.district_name} {v.site_name}"
            f"({v.site_id}){tag}  訪問ID {v.id[:8]}"
        )
    for t in plan.districts:
        click.echo(
            f"地区 {t.name}: {t.visits}回(受付 {t.stops}枠、見込み {t.expected_users:.1f}人)"
        )
    for note in plan.notes:
        click.echo(f"注意: {note}")


@plan_cmd.command("publish")
@DB_OPTION
@click.argument("plan_id")
@click.option(
    "--policy",
    "policy_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="ルールの確認に使う設定ファイル(省略時は管理画面に保存されたその月の設定)",
)
@click.option("--today", default=None, hidden=True, help="今日の日付(テスト用)")
@click.option(
    "--override-reason",
    default="",
    help="ルール違反があっても公開する理由(監査ログに違反とともに残ります)",
)
def plan_publish(
    db_path: Path,
    plan_id: str,
    policy_path: Path | None,
    today: str | None,
    override_reason: str,
) -> None:
    """下書きの計画をルールを確かめてから公開する(同じ車両・同じ日の公開中の訪問は差し替えられ、車両に届く)。

    ルール違反が1件でもあれば、--override-reason で理由を書かない限り公開せず、
    違反を1行ずつ表示して終了コード1で終わります。
    今日より前の日の訪問を追加・変更・削除する計画は公開できません(過去の訪問は車両に送りません)。
    """
    from datetime import datetime

    from odekake.access import audit
    from odekake.operations.overview import JST
    from planner.check import load_for
    from planner.plan_store import load_plan, summary
    from planner.publishing import PublishRefused, publish_checked

    db = connect(db_path)
    policy = None
    if policy_path is not None:
        policy = load_for(db, policy_path, load_plan(db, summary(db, plan_id).id))
    try:
        day = date.fromisoformat(today) if today else datetime.now(JST).date()
    except ValueError as exc:
        raise OdekakeError(f"--today は YYYY-MM-DD で指定してください({today})") from exc
    try:
        r, seen = publish_checked(
            db,
            plan_id,
            actor=audit.cli_actor(),
            today=day,
            override_reason=override_reason,
            policy=policy,
        )
    except PublishRefused as exc:
        for v in exc.violations:
            click.echo(f"NG: {v.message}")
        click.echo(str(exc), err=True)
        click.echo(
            f"理由を書いて公開する: odekake plan publish --db {db_path} {plan_id}"
            ' --override-reason "理由"',
            err=True,
        )
        raise SystemExit(1) from None
    click.echo(
        f"計画 {r.plan_id} を公開しました(訪問 {r.visits}件、うち変更なし {r.unchanged}件)。"
    )
    for pid, n in sorted(r.superseded.items()):
        click.echo(f"差し替え: 計画 {pid[:8]} の訪問 {n}件")
    for pid in r.superseded_plans:
        click.echo(f"計画 {pid[:8]} は差し替え済みになりました。")
    if seen.notices:
        click.echo(f"回覧板のお知らせを配り直す地区: {'、'.join(seen.notices)}")
    click.echo("車両は次の同期で公開中の訪問だけを受け取ります。")
    if r.site:
        click.echo(f"住民向けの予定ページを更新しました: {r.site}")
    if r.site_error:
        click.echo(f"注意: 住民向けの予定ページを更新できませんでした: {r.site_error}", err=True)


@plan_cmd.command("discard")
@DB_OPTION
@click.argument("plan_id")
def plan_discard(db_path: Path, plan_id: str) -> None:
    """下書きの計画を破棄する(記録は残り、車両には届きません)。"""
    from odekake.access import audit
    from planner.lifecycle import discard

    pid = discard(connect(db_path), plan_id, actor=audit.cli_actor())
    click.echo(f"計画 {pid} を破棄しました。")


@plan_cmd.command("import-csv")
@DB_OPTION
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--from",
    "parent_id",
    default=None,
    help="元の計画ID(省略時は訪問がいちばん多く一致する保存済みの計画)",
)
@click.option("--label", default="", help="計画一覧に表示するメモ")
def plan_import_csv(db_path: Path, csv_file: Path, parent_id: str | None, label: str) -> None:
    """Excelで編集した計画CSV(odekake plan --csv の形)を新しい下書きとして取り込む。

    Shift_JIS と UTF-8(BOM付き)のどちらでも読めます。誤りのある行はすべて行番号つきで
    示し、1行でも誤りがあれば何も保存しません。取り込んだ下書きは
    odekake plan check でルールを確認してから公開してください。
    """
    from odekake.access import audit
    from planner.handedit import import_csv

    db = connect(db_path)
    r = import_csv(db, csv_file, actor=audit.cli_actor(), parent_id=parent_id, label=label)
    parent = f"(元の計画 {r.parent_id[:8]})" if r.parent_id else "(元の計画なし)"
    click.echo(
        f"計画CSVを下書きとして取り込みました: 計画ID {r.plan_id}、訪問 {r.visits}件{parent}"
    )
    click.echo(f"ルールの確認: odekake plan check --db {db_path} --policy 設定ファイル {r.plan_id}")


@plan_cmd.command("check")
@DB_OPTION
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="計画の設定ファイル(TOML)",
)
@click.argument("plan")
def plan_check(db_path: Path, policy_path: Path, plan: str) -> None:
    """計画(plan.json のファイル、または保存済みの計画ID)が設定ファイルのルールをすべて守るか確かめる。

    守っていないルールを1行ずつ表示し、1件でもあれば終了コード1で終わります。
    """
    import json

    from planner.check import check_plan
    from planner.plan import plan_from_dict
    from planner.plan_store import load_plan, summary

    db = connect(db_path)
    path = Path(plan)
    if path.suffix.lower() == ".json" or path.exists():
        if not path.exists():
            raise OdekakeError(f"計画ファイルがありません: {path}")
        try:
            the_plan = plan_from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise OdekakeError(
                f"計画ファイルを読めません(plan.json の形式ではありません): {path}"
            ) from exc
    else:
        the_plan = load_plan(db, summary(db, plan).id)
    found = check_plan(db, policy_path, the_plan)
    if not found:
        click.echo(
            f"OK: 計画 {the_plan.id[:8]} の訪問 {len(the_plan.visits)}件はすべてのルールを守っています。"
        )
        return
    for v in found:
        click.echo(f"NG: {v.message}")
    click.echo(f"ルール違反が {len(found)} 件あります。", err=True)
    raise SystemExit(1)


COMMANDS: list[click.Command] = [plan_cmd]
