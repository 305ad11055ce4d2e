"""日計表: float + cash fees vs cash counted by denomination; cashless vs terminal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from kiosk.labels import t
from kiosk.screens.base import FormScreen, inp
from kiosk.widgets.field import FormRow
from odekake.masterdata.catalog import CATEGORIES
from odekake.receipts.receipt_pdf import write_day_close
from odekake.services import dayclose
from odekake.storage.records import Record

DIGITS = r"[0-9]*"


log = logging.getLogger("kiosk")


class DayCloseScreen(FormScreen):
    """Count the cash, compare, give a reason for any difference, close."""

    TITLE_KEY = "dayclose_title"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reopen", t("reopen_day"), priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.closed_record: Record | None = None
        self.pdf_path: Path | None = None

    def fields(self) -> ComposeResult:
        # The day is read once, as the form is built, and drawn with it (updating the
        # lines after mounting cost one more layout of the whole form).
        self.summary = dayclose.summarise(self.kiosk.db, self.today())
        yield Static(self.summary_text(), id="summary")
        yield self.row("change_float", "change_float", inp("", restrict=DIGITS))
        for d in dayclose.DENOMINATIONS:
            control = inp("", restrict=DIGITS, placeholder="0")
            control.id = f"f-count_{d}"
            yield FormRow(f"count_{d}", f"  {d:,}円 枚数", control)
        yield Static(self.totals_text(lambda _field: 0), id="totals")  # nothing typed yet
        yield self.row("cashless_terminal", "cashless_terminal", inp("", restrict=DIGITS))
        yield self.row("reason", "diff_reason", inp())

    def action_reopen(self) -> None:
        self.kiosk.reopen_day()

    def reload(self) -> None:
        """Re-read the day (after a re-open)."""
        self.summary = dayclose.summarise(self.kiosk.db, self.today())
        self.query_one("#summary", Static).update(self.summary_text())
        self.update_totals()

    def summary_text(self) -> str:
        """The day's figures, from ``self.summary``."""
        s = self.summary
        cats = "、".join(
            f"{CATEGORIES.get(k, k)} {v}" for k, v in sorted(s.by_category.items())
        ) or t("none")
        lines = [
            f"{s.day.isoformat()}  会場 {s.stops}  領収 {len(s.receipts)} 件"
            + (f"  書損 {len(s.voided)} 件" if s.voided else ""),
            f"{t('cash_fees')} {s.cash_fees:,}円  {t('cashless_fees')} {s.cashless_fees:,}円",
            f"{t('by_category')}: {cats}",
        ]
        if s.voided:
            lines.append(
                "書損: "
                + "、".join(f"{n[-6:]}({s.voided_amounts.get(n, 0):,}円)" for n in s.voided)
            )
        for r in s.reopenings:
            lines.append(f"{t('reopenings')} {r['at']} 承認 {r['supervisor_id']}: {r['reason']}")
        if s.open_stops:
            lines.append(f"[b]開いている会場: {'、'.join(s.open_stops)}[/b]")
        if s.closed:
            lines.append(f"[b]{t('day_is_closed')}(Ctrl+R {t('reopen_day')})[/b]")
        return "\n".join(lines)

    def on_input_changed(self, event: Input.Changed) -> None:
        if hasattr(self, "summary"):
            self.update_totals()

    def _int(self, field: str) -> int:
        raw = str(self.value(field)).strip()
        return int(raw) if raw.isdigit() else 0

    def update_totals(self) -> None:
        """Expected vs counted cash and the difference, live."""
        self.query_one("#totals", Static).update(self.totals_text(self._int))

    def totals_text(self, number: Callable[[str], int]) -> str:
        """The expected and counted cash and their difference, ``number`` reading a field."""
        expected, counted = dayclose.cash_totals(
            number("change_float"),
            {d: number(f"count_{d}") for d in dayclose.DENOMINATIONS},
            self.summary,
        )
        return (
            f"  {t('expected_cash')} {expected:,}円  {t('counted_total')} {counted:,}円  "
            f"{t('difference')} {counted - expected:+,}円"
        )

    def submit(self, values: dict[str, Any]) -> Record:
        app = self.kiosk
        assert app.operator is not None
        return dayclose.close_day(app.db, values, operator_id=app.operator.id, now=app.now())

    def after_save(self, record: Record) -> None:
        p = record.payload or {}
        log.info("day close %s by %s", p.get("date"), p.get("operator_id"))
        self.closed_record = record
        msg = self.query_one("#form-message", Static)
        msg.set_class(False, "-error")
        msg.update(f"{t('saved')}: {t('day_closed')}  {t('pdf_writing').format(kind='日計表')}")
        self.make_pdf(record)

    @work(thread=True, exclusive=True, group="pdf")
    def make_pdf(self, record: Record) -> None:
        """Write the 日計表 PDF off the UI thread."""
        close_no = dayclose.close_number(self.kiosk.db, record)
        path = write_day_close(record, self.kiosk.receipts_dir, CATEGORIES, close_no=close_no)
        self.app.call_from_thread(self.pdf_done, path)

    def pdf_done(self, path: Path) -> None:
        self.pdf_path = path
        self.query_one("#form-message", Static).update(
            f"{t('saved')}: {t('day_closed')}\n{t('dayclose_pdf')}: {path.name}"
        )
