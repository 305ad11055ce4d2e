"""Supervisor-approval dialogs laid out at 80×24: centred (not at column 0), every
line whole (no lone 「)」 wrapped to the next line), a long question wrapped, not cut."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from kiosk.widgets.approval import SupervisorApproval

from .conftest import FixedClock
from .helpers import login
from .test_app_flows import SIZE, app_for


async def test_approval_dialogs_are_centred_and_no_line_is_cut(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        long_title = "いま 06:57 は、この会場の時間帯 10:00-12:00 の30分より前です。開く理由を入力してください"
        for dialog in (
            SupervisorApproval("書損の承認", need_pin=True),
            SupervisorApproval("日計の再開", need_pin=True, ask_reason=True),
            SupervisorApproval(long_title, need_pin=False, ask_reason=True),
        ):
            app.push_screen(dialog)
            await pilot.pause()
            box = dialog.query_one("#dialog").region
            assert box.x >= 4 and box.right <= SIZE[0] - 4, box  # centred
            assert box.bottom <= SIZE[1]
            for text in dialog.query(Static):
                rendered = str(text.render())
                lines = text.render_lines(text.region.reset_offset)
                shown = "".join(s.text for line in lines for s in line).replace(" ", "")
                assert rendered.replace(" ", "").replace("\n", "") in shown, (rendered, shown)
                for line in lines:
                    assert not "".join(s.text for s in line).strip().startswith(")")
            await pilot.press("escape")
            await pilot.pause()
