"""Issue 12, forms that open fast: the row that draws its own label, and the footer
that is rebuilt only when its keys change. Each test fails if the cheaper widget
loses what the old one showed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.cells import cell_len
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from kiosk.app import KioskSettings, make_app
from kiosk.screens.base import FormScreen
from kiosk.screens.dayclose import DayCloseScreen
from kiosk.screens.disaster import DisasterScreen
from kiosk.screens.menu import MenuScreen
from kiosk.widgets.choice import Choice
from kiosk.widgets.field import FormRow
from kiosk.widgets.tick import Tick

from .conftest import FixedClock
from .helpers import login, open_afternoon_visit

SIZE = (80, 24)


def check_rows(screen: FormScreen) -> int:
    """Every row shows its whole label left of its control, which starts at column 22."""
    rows = list(screen.query(FormRow))
    assert rows
    for row in rows:
        # The label column is 22 cells with one kept free: a longer label would be cut.
        assert cell_len(row.label) <= FormRow.LABEL_WIDTH - 1, row.label
        assert row.render_line(0).text.startswith(row.label), row.field
        assert row.control.region.x == row.region.x + FormRow.LABEL_WIDTH, row.field
        assert row.control.id == f"f-{row.field}"
    return len(rows)


async def test_every_form_row_draws_its_whole_label_left_of_the_control(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = make_app(kiosk_path, clock=clock, settings=KioskSettings())
    seen: dict[str, int] = {}
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")  # the morning stop
        await pilot.pause()
        for key in "12456":
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, FormScreen), key
            seen[key] = check_rows(app.screen)
            app.pop_screen()
            await pilot.pause()
        await pilot.press("c", "y")  # close it: the day's screen
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DayCloseScreen)
        seen["d"] = check_rows(app.screen)
        app.pop_screen()
        await pilot.pause()
        await open_afternoon_visit(pilot)  # the afternoon り災 visit
        await pilot.press("3")
        await pilot.pause()
        assert isinstance(app.screen, DisasterScreen)
        seen["3"] = check_rows(app.screen)
    assert seen["1"] >= 20 and seen["3"] >= 19 and seen["d"] >= 12


async def test_an_invalid_row_marks_its_label_and_a_fixed_one_unmarks_it(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = make_app(kiosk_path, clock=clock, settings=KioskSettings())
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter", "1")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FormScreen)
        row = screen.query_one("#row-address", FormRow)
        plain = row.render_line(0)
        await pilot.press(*"遠藤", "ctrl+s")  # no address, no identity document
        await pilot.pause()
        assert row.has_class("-invalid")
        marked = row.render_line(0)
        assert marked.text == plain.text  # the same label…
        assert marked != plain  # …drawn differently (red and bold)
        assert any(seg.style is not None and seg.style.bold for seg in marked if seg.text.strip())
        screen.query_one("#f-address", Input).value = "いわき市川前町デモ3"
        screen.query_one("#f-id_doc1", Choice).value = "運転免許証"
        row.set_error(None)
        await pilot.pause()
        assert row.render_line(0) == plain


def footer_keys(app: Any) -> list[FooterKey]:
    return list(app.screen.query(FooterKey))


async def test_the_footer_shows_the_focused_fields_keys_and_is_not_rebuilt_for_the_same(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = make_app(kiosk_path, clock=clock, settings=KioskSettings())
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("1")
        await pilot.pause()
        on_name = footer_keys(app)
        assert {k.key for k in on_name} >= {"ctrl+s", "escape", "ctrl+u"}
        await pilot.press("tab")  # name → address: the same keys
        await pilot.pause()
        assert app.screen.focused is app.screen.query_one("#f-address")
        assert footer_keys(app) == on_name  # the very same widgets: not rebuilt
        await pilot.press("tab")  # → the identity document: a choice with ← / →
        await pilot.pause()
        on_choice = footer_keys(app)
        assert {"right", "left"} <= {k.key.split(",")[0] for k in on_choice}
        assert on_choice != on_name
        await pilot.press("tab", "tab", "tab", "tab", "tab")  # … to 対象者
        await pilot.pause()
        assert app.screen.focused is app.screen.query_one("#f-subject_name", Input)
        assert "right" not in {k.key.split(",")[0] for k in footer_keys(app)}
        assert not any(k.has_class("-compact") for k in footer_keys(app))
        # A check box: its own keys are hidden, so the footer is the text field's again.
        await pilot.press("tab")
        await pilot.pause()
        assert isinstance(app.screen.focused, Tick)
        assert {k.key for k in footer_keys(app)} >= {"ctrl+s", "escape"}


async def test_a_form_follows_a_resized_terminal(kiosk_path: Path, clock: FixedClock) -> None:
    # A form ignores the echo of its own first layout, never a real resize.
    app = make_app(kiosk_path, clock=clock, settings=KioskSettings())
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter", "1")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FormScreen)
        name = screen.query_one("#f-name", Input)
        form = screen.query_one("#form")
        width, height = name.region.width, form.region.height
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert name.region.width >= width + 20  # (+2 more: the scroll bar goes)
        assert form.region.height == height + 6
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert (name.region.width, form.region.height) == (width, height)


async def test_the_startup_objects_are_kept_from_full_collections_until_the_app_ends(
    kiosk_path: Path, clock: FixedClock
) -> None:
    import gc

    app = make_app(kiosk_path, clock=clock, settings=KioskSettings())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert gc.get_freeze_count() > 0  # frozen as the app mounted
    # Thawed as it ended: what is left of it can be collected (no leak per app).
    assert gc.get_freeze_count() == 0
