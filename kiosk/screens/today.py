"""Today: the stops planned for this van, plus opening an unplanned stop."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from kiosk import navigation
from kiosk.labels import ACTIVITY_LABELS, t
from kiosk.screens.base import KioskScreen
from odekake.errors import OdekakeError
from odekake.services.common import local_date
from odekake.services.stops import OutsideHours, open_planned, planned_visits, stops_on


class TodayScreen(KioskScreen):
    """Planned visits (Enter opens one), U opens an unplanned stop, D closes the day."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Not a priority binding: it must run after a ↓ typed just before it.
        Binding("enter", "open_planned", t("open_planned")),
        Binding("u", "unplanned", t("open_unplanned")),
        Binding("d", "day_close", t("day_close")),
        Binding("l", "logout", t("logout")),
        Binding("r", "receipts", t("receipts_list")),
        Binding("o", "reopen", t("reopen_day")),
    ]

    def body(self) -> ComposeResult:
        yield Static(t("today_title"), classes="title")
        yield Static(t("planned"), classes="subtitle")
        yield DataTable(id="plan", cursor_type="row", zebra_stripes=True)
        yield Static("", id="plan-empty")
        yield Static(t("stops_today"), classes="subtitle")
        yield Static("", id="stops-done")
        yield Static("", id="today-message")

    def on_mount(self) -> None:
        table = self.query_one("#plan", DataTable)
        table.add_columns("#", t("window"), t("site"), "地区", t("activity"), "")
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Re-read the plan and today's stops."""
        self.refresh_topbar()
        app = self.kiosk
        day = local_date(app.now())
        self.visits = planned_visits(app.db, app.van_id, day)
        table = self.query_one("#plan", DataTable)
        table.clear()
        for i, v in enumerate(self.visits, start=1):
            table.add_row(
                str(i),
                v.window,
                v.site_name,
                v.district_name,
                ACTIVITY_LABELS.get(v.activity, v.activity),
                t("opened") if v.opened else "",
                key=v.id,
            )
        self.query_one("#plan-empty", Static).update("" if self.visits else t("no_plan"))
        table.display = bool(self.visits)
        done = stops_on(app.db, day)
        lines = [
            f"  {s.window} {s.site_name}({s.activity_label}) "
            f"{t('closed') if s.closed else t('open_now')}"
            for s in done
        ]
        if app.day_closed():
            lines.append(f"  [b]{t('day_is_closed')}(O: {t('reopen_day')})[/b]")
        self.query_one("#stops-done", Static).update("\n".join(lines) or f"  {t('none')}")
        if self.visits:
            table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_planned()

    def action_open_planned(self) -> None:
        if not self.visits:
            return
        table = self.query_one("#plan", DataTable)
        visit = self.visits[table.cursor_row]
        self.open_visit(visit.id)

    def open_visit(self, visit_id: str, hours_reason: str = "") -> None:
        """Open a planned visit; outside its hours, ask why first (kept with the stop)."""
        app = self.kiosk
        assert app.operator is not None
        try:
            record = open_planned(
                app.db,
                visit_id,
                operator_id=app.operator.id,
                now=app.now(),
                hours_reason=hours_reason,
            )
        except OutsideHours as exc:
            from kiosk.widgets.approval import ApprovalAnswer, SupervisorApproval

            def answered(answer: ApprovalAnswer | None) -> None:
                if answer is not None:
                    self.open_visit(visit_id, answer.reason)

            self.app.push_screen(
                SupervisorApproval(str(exc), need_pin=False, ask_reason=True), answered
            )
            return
        except OdekakeError as exc:
            # Said twice: under the list, and as a toast that shows even at 80×24.
            self.query_one("#today-message", Static).update(str(exc))
            self.notify(str(exc), severity="warning", timeout=8)
            return
        self.stop_opened(str((record.payload or {})["stop_id"]))

    def stop_opened(self, stop_id: str) -> None:
        """Go to the service menu of the stop just opened."""
        self.kiosk.set_stop(stop_id)
        self.notify(t("stop_opened"))
        self.app.push_screen(navigation.make("menu"))

    def action_unplanned(self) -> None:
        self.app.push_screen(navigation.make("unplanned"))

    def action_day_close(self) -> None:
        self.app.push_screen(navigation.make("dayclose"))

    def action_receipts(self) -> None:
        self.app.push_screen(navigation.make("void"))

    def action_reopen(self) -> None:
        self.kiosk.reopen_day()

    def action_logout(self) -> None:
        self.kiosk.logout()
