"""Report commands: ``odekake report`` and ``odekake history import``."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import click

from odekake.errors import ValidationError
from odekake.reports.counting import Period
from odekake.reports.output import Writer
from odekake.storage.db import connect

DB_OPTION = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="市役所(ハブ)のデータベース hub.db",
)


def _period(
    month: str | None, fiscal_year: str | None, start: str | None, end: str | None
) -> Period:
    given = [x for x in (month, fiscal_year, start or end) if x]
    if len(given) != 1:
        raise click.UsageError(
            "期間は --month、--fiscal-year、--from/--to のどれか1つで指定してください"
        )
    if month:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
        if not m:
            raise ValidationError(f"--month は YYYY-MM で指定してください: {month}")
        return Period.month(int(m.group(1)), int(m.group(2)))
    if fiscal_year:
        from odekake.reports.tallies import parse_fiscal_year

        try:
            return Period.fiscal_year(parse_fiscal_year(fiscal_year))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    if not (start and end):
        raise click.UsageError("--from と --to は両方指定してください")
    try:
        return Period(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError:
        raise ValidationError(f"日付は YYYY-MM-DD で指定してください: {start} / {end}") from None


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"--as-of は YYYY-MM-DD で指定してください: {text}") from None


@click.command("report")
@DB_OPTION
@click.option("--month", default=None, help="月(例: 2023-11)")
@click.option("--fiscal-year", default=None, help="年度(例: 2022 または R4)。4月〜翌年3月")
@click.option("--from", "start", default=None, help="期間の初日(YYYY-MM-DD)")
@click.option("--to", "end", default=None, help="期間の末日(YYYY-MM-DD、この日を含む)")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),  # checked by check_paths (one Japanese line)
    help="出力するPDFファイル",
)
@click.option(
    "--csv",
    "csv_path",
    default=None,
    type=click.Path(path_type=Path),
    help="同じ表をCSV(UTF-8 BOM付き)でも書き出す",
)
@click.option(
    "--xlsx",
    "xlsx_path",
    default=None,
    type=click.Path(path_type=Path),
    help="同じ表をExcel(XLSX)でも書き出す",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="作成日(YYYY-MM-DD、既定は今日)。この日より後の月はグラフに点を打たない",
)
def report_cmd(
    db_path: Path,
    month: str | None,
    fiscal_year: str | None,
    start: str | None,
    end: str | None,
    out: Path,
    csv_path: Path | None,
    xlsx_path: Path | None,
    as_of: str | None,
) -> None:
    """利用実績の表(月・年度・任意の期間)をPDF(とCSV・XLSX)で作る。"""
    from odekake.reports.export import write_csv, write_xlsx
    from odekake.reports.output import check_paths, write_all
    from odekake.reports.pdf import render_report
    from odekake.reports.table import build_report

    period = _period(month, fiscal_year, start, end)
    targets = [out, *(p for p in (csv_path, xlsx_path) if p is not None)]
    check_paths(targets)  # before anything is read or written
    db = connect(db_path)
    report = build_report(db, period, today=_as_of(as_of))
    jobs: list[tuple[Path, Writer]] = [(out, lambda p: render_report(report, p))]
    if csv_path is not None:
        jobs.append((csv_path, lambda p: write_csv(report, p)))
    if xlsx_path is not None:
        jobs.append((xlsx_path, lambda p: write_xlsx(report, p)))
    write_all(jobs)
    from odekake.access import audit

    audit.log(
        db,
        audit.cli_actor(),
        "export",
        out.name,
        {"kind": "usage_report", "files": [p.name for p in targets]},
    )
    click.echo(f"{out} に {report.period.label()} の利用実績を書き出しました。")
    if csv_path is not None:
        click.echo(f"{csv_path} に書き出しました(CSV)。")
    if xlsx_path is not None:
        click.echo(f"{xlsx_path} に書き出しました(XLSX)。")
    if report.empty:
        click.echo("この期間の運行記録・過去集計はありません(空の表を出力しました)。")
    for f in report.flags:
        click.echo(f"注意: {f.message()}", err=True)


@click.group("history")
def history_group() -> None:
    """過去の集計(システム導入前の実績表)の取り込み。"""


@history_group.command("import")
@DB_OPTION
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
def history_import(db_path: Path, csv_file: Path) -> None:
    """過去の実績表をCSVから取り込む(同じ期間は置き換え。1行でも誤りがあれば何もしない)。"""
    from odekake.access import audit
    from odekake.reports.tally_store import import_file

    db = connect(db_path)
    result = import_file(db, csv_file, actor=audit.cli_actor())
    click.echo(result.describe())


@click.group("costs")
def costs_group() -> None:
    """事業費(年度ごと)の登録と一覧。利用実績の「1人あたりの費用」に使う。"""


@costs_group.command("set")
@DB_OPTION
@click.option("--fiscal-year", "fiscal_year", required=True, help="年度(例: 2026 または R8)")
@click.option("--amount", required=True, help="事業費(円、例: 12000000 または 12,000,000)")
@click.option("--note", default="", help="備考(内訳など)")
def costs_set(db_path: Path, fiscal_year: str, amount: str, note: str) -> None:
    """年度の事業費を登録する(同じ年度は置き換え)。"""
    from odekake.access import audit
    from odekake.masterdata.wareki import fiscal_year_label
    from odekake.reports.costs import set_cost
    from odekake.reports.tallies import parse_fiscal_year

    try:
        fy = parse_fiscal_year(fiscal_year)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    digits = amount.strip().replace(",", "").removesuffix("円")
    if not digits.isdigit():
        raise ValidationError(f"--amount は円の金額(数字)で指定してください: {amount}")
    db = connect(db_path)
    new, old = set_cost(db, fy, int(digits), note=note, actor=audit.cli_actor())
    label = fiscal_year_label(fy)
    if old is None:
        click.echo(f"{label} の事業費 {new.amount:,}円 を登録しました。")
    else:
        click.echo(f"{label} の事業費を {old.amount:,}円 から {new.amount:,}円 に置き換えました。")


@costs_group.command("list")
@DB_OPTION
def costs_list(db_path: Path) -> None:
    """登録されている事業費を年度順に表示する。"""
    from odekake.masterdata.wareki import fiscal_year_label
    from odekake.reports.costs import list_costs

    rows = list_costs(connect(db_path))
    if not rows:
        click.echo("事業費はまだ登録されていません(odekake costs set で登録します)。")
    for c in rows:
        note = f"  {c.note}" if c.note else ""
        click.echo(f"{fiscal_year_label(c.fiscal_year)}  {c.amount:>14,}円{note}")


COMMANDS: list[click.Command] = [report_cmd, history_group, costs_group]
