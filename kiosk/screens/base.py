"""Base screens: a top bar and footer for every screen, and the form behaviour.

A form screen reads its widgets into a plain dict, calls ONE function of
``odekake.services`` and shows the result: field errors next to their fields, or
「保存しました」 once the record has committed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Static

from kiosk import navigation
from kiosk.labels import t
from kiosk.widgets.choice import Choice
from kiosk.widgets.confirm import Confirm
from kiosk.widgets.field import FormRow, TopBar
from kiosk.widgets.footer import KioskFooter
from kiosk.widgets.tick import Tick
from odekake.errors import FormErrors, OdekakeError
from odekake.services.common import Actor, local_date
from odekake.storage.records import Record, intake_ready

if TYPE_CHECKING:
    from kiosk.host import KioskHost
    from odekake.cardreader import CardIdentity

Control = TypeVar("Control", Input, Tick)


class KioskScreen(Screen[Any]):
    """A screen with the status line on top and the key footer below."""

    @property
    def kiosk(self) -> KioskHost:
        """The app, typed."""
        return cast("KioskHost", self.app)

    def compose(self) -> ComposeResult:
        yield TopBar(self.kiosk.status_line, id="topbar")
        yield from self.body()
        yield KioskFooter()

    def body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    def refresh_topbar(self) -> None:
        """Redraw the status line (after login, opening or closing a stop)."""
        self.query_one("#topbar", TopBar).tick()


def inp(value: str = "", *, placeholder: str = "", restrict: str | None = None) -> Input:
    """A one-line input (compact, so a form fits 80×24)."""
    return compact(Input(value=value, placeholder=placeholder, restrict=restrict))


def sel(options: list[tuple[str, Any]], value: Any = None, *, blank: bool = False) -> Choice:
    """A one-line choice (← / → step through the options)."""
    return Choice(options, value, blank=blank)


def chk(label: str, value: bool = False) -> Tick:
    """A one-line check box."""
    return compact(Tick(label, value=value))


def compact(widget: Control) -> Control:
    """Make a new, not yet mounted control compact without restyling it now.

    ``compact=True`` in the constructor sets the class through a reactive, which
    restyles the widget on the spot when an app is running (a form builds its
    controls inside the app): a full style pass per control that is thrown away
    when the widget is styled again as it mounts. This sets the same class and
    value and leaves the styling to the mount.
    """
    widget.set_reactive(type(widget).compact, True)
    widget.add_class("-textual-compact", update=False)
    return widget


class FormScreen(KioskScreen):
    """A form: Ctrl+S saves, Escape goes back (asking first when something was typed)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", t("save"), priority=True),
        # Priority: Tab moves focus in key order, so type-ahead lands in the next field.
        Binding("tab", "app.focus_next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", show=False, priority=True),
        Binding("escape", "back", t("back")),
        Binding("ctrl+u", "clear_field", t("clear_field"), priority=True),
        # Shown only on forms that take a resident's identity (TAKES_CARD).
        Binding("f4", "read_card", t("read_card")),
        Binding("ctrl+r", "take_scanned", t("take_scanned"), show=False, priority=True),
    ]
    # No automatic focus: ``on_mount`` focuses the first field itself. (Textual's
    # default would first focus the scrolling form container, restyling every row
    # twice as the focus arrives there and moves on.)
    AUTO_FOCUS = ""
    TITLE_KEY = ""
    FIRST_FIELD: str | None = None
    #: The pre-fill service (``odekake.residents.prefill.SERVICES``) this form takes from a QR code.
    PREFILL_SERVICE: str | None = None
    # The form records a resident's personal data (sealed to city hall): on a van
    # without the sealing key it says so as it opens, before anyone types.
    TAKES_PERSONAL_DATA: ClassVar[bool] = False
    #: F4 reads the resident's My Number card into the form's identity fields.
    TAKES_CARD: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._initial: dict[str, Any] | None = None
        self._saving = False
        self._resumed = False
        self._layout_echo_seen = False
        #: Values from a scanned request code, filled in when the form opens.
        self.prefill: dict[str, str] | None = None
        #: Scanned values that differ from what the operator had typed (kept).
        self.scanned_alternatives: dict[str, Any] = {}
        # Set by the app for every editing key that reaches this screen, however
        # fast: Escape and Ctrl+Q ask whenever anything was typed (see ``dirty``).
        self.touched = False
        #: The card read into this form (F4), if any: the record notes the chip.
        self.chip_identity: CardIdentity | None = None
        #: The card's value of each identity field this form has (compared at save).
        self._chip_values: dict[str, str] = {}

    # -- to implement --------------------------------------------------------
    def fields(self) -> ComposeResult:
        """The form rows (:class:`FormRow`)."""
        yield from ()

    def submit(self, values: dict[str, Any]) -> Record:
        """Call the service; raise FormErrors or OdekakeError on bad input."""
        raise NotImplementedError

    def after_save(self, record: Record) -> None:
        """What follows a committed save (default: the receipt screen)."""
        from odekake.services.common import normalise

        # The 宛名 is sealed in the record: the receipt takes it from the form.
        addressee = normalise(str(self.values().get("addressee") or ""))
        self.app.switch_screen(navigation.make("receipt", record, addressee=addressee))

    # -- shared --------------------------------------------------------------
    def body(self) -> ComposeResult:
        yield Static(t(self.TITLE_KEY), classes="title")
        with VerticalScroll(id="form"):
            yield from self.fields()
        missing = intake_ready(self.kiosk.db) if self.TAKES_PERSONAL_DATA else None
        yield Static(missing or "", id="form-message", classes="-error" if missing else "")

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Textual's own handler. On the first resume the form's widgets
        # were styled a moment ago as they mounted: restyling all of them again is
        # the largest single cost of opening a form after layout. (Later resumes,
        # after a dialog, restyle as usual.)
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def on_resize(self, event: events.Resize) -> None:
        # Runs before Textual's own handler. The first layout of a new screen sends
        # the screen a Resize of the size it was just laid out at, and Textual lays
        # the whole screen (and the one below) out again for it. Skip that echo; a
        # real resize of the terminal arrives with a new size and is handled as usual.
        if event.size == self.outer_size and not self._layout_echo_seen:
            self._layout_echo_seen = True
            event.prevent_default()

    def on_mount(self) -> None:
        # Focus synchronously (``Widget.focus`` is deferred): keys typed ahead must
        # land in the first field, and a Tab typed ahead must move on from it.
        if self.FIRST_FIELD:
            self.set_focus(self.control(self.FIRST_FIELD))
        else:
            rows = self.query(FormRow)
            if rows:
                self.set_focus(rows.first().control)
        # The form as it opened, taken now (not after a refresh): anything typed or
        # pasted later, however soon, counts as a change that Escape asks about.
        self._snapshot()
        if self.prefill:
            self.fill(self.prefill)

    def fill(self, values: dict[str, str]) -> None:
        """Fill fields from a scanned request; the operator checks and saves (Ctrl+S).

        Only fields the form has are filled. A field the operator has already
        changed is never overwritten: when the code says something else, that value
        is shown under the field (Ctrl+R takes it). The focus goes to the first
        field the code did not fill (the identity document on a certificate), with
        the name and address still in view; nothing is saved until the operator
        says so.
        """
        filled: set[str] = set()
        initial = self._initial or {}
        kept = 0
        for field, value in values.items():
            found = self.query(f"#f-{field}")
            if not found:
                continue
            control = found.first()
            current = self.value(field)
            typed = field in initial and current != initial[field]
            if typed and not _same(current, value):
                self.scanned_alternatives[field] = value
                self._show_alternative(field, value)
                kept += 1
                filled.add(field)
                continue
            self._set_value(control, value)
            filled.add(field)
        rest = [row.control for row in self.query(FormRow) if row.field not in filled]
        shown = [row for row in self.query(FormRow) if row.field in filled]
        form = self.query_one("#form", VerticalScroll)
        # The first filled row (the name) at the top, so name and address are read
        # before saving; the focused field then only scrolled into view if it is not.
        # (Focusing as usual would centre the focused field, scrolling the name away.)
        if rest:
            self.set_focus(rest[0], scroll_visible=False)
        if shown:
            form.scroll_to_widget(shown[0], top=True, animate=False, immediate=True)
        if rest:
            focus = rest[0]
            form.call_after_refresh(form.scroll_to_widget, focus, animate=False)
        message = self.query_one("#form-message", Static)
        text = t("prefill_filled")
        if kept:
            text = t("prefill_kept").format(n=kept)
        message.update(text)
        message.set_class(bool(kept), "-error")

    def _set_value(self, control: Widget, value: Any) -> bool:
        if isinstance(control, Input):
            control.value = str(value)
        elif isinstance(control, Choice):
            try:
                control.value = value
            except ValueError:
                return False  # not an option on this form: the operator chooses
        elif isinstance(control, Checkbox):
            control.value = str(value).lower() in ("1", "true", "yes", "はい")
        return True

    def _show_alternative(self, field: str, value: Any) -> None:
        row = self.query_one(f"#row-{field}", FormRow)
        row.set_note(t("scanned_differs").format(value=value))

    def action_take_scanned(self) -> None:
        """Ctrl+R: the focused field takes the value the scanned code gave it."""
        for row in self.query(FormRow):
            if row.control is self.focused and row.field in self.scanned_alternatives:
                value = self.scanned_alternatives.pop(row.field)
                self._set_value(row.control, value)
                row.set_note(None)
                return
        if self.scanned_alternatives:
            self.notify(t("scanned_pick_field"), severity="warning")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # A scanner typed a request code into a text field: take it out of the field
        # and open (or fill) the form it asks for.
        from odekake.residents.prefill import PREFIX

        at = event.value.upper().find(PREFIX)
        if at < 0 or ":" not in event.value[at:]:
            return
        event.stop()
        event.input.value = event.value[:at]
        self.kiosk.open_scanned(event.value[at:])

    def on_key(self, event: events.Key) -> None:
        # Type-ahead: keys typed while the form was still opening reach the screen
        # itself instead of the input; hand printable ones to the focused (or first)
        # input so a fast operator loses nothing. A key that an input handled never
        # gets here (inputs stop printable keys).
        if not (event.is_printable and event.character):
            return
        target = self.focused
        if target is None:
            rows = self.query(FormRow)
            if not rows:
                return
            target = rows.first().control
            self.set_focus(target)
        if isinstance(target, Input):
            target.insert_text_at_cursor(event.character)
            event.stop()

    def _snapshot(self) -> None:
        self._initial = self.values()

    def control(self, field: str) -> Widget:
        """The control of a field."""
        return self.query_one(f"#f-{field}")

    def value(self, field: str) -> Any:
        """A field's current value: text, the selected value ('' when none) or a bool."""
        w = self.control(field)
        if isinstance(w, Input):
            return w.value
        if isinstance(w, Choice):
            return w.value
        if isinstance(w, Checkbox):
            return w.value
        raise TypeError(field)

    def values(self) -> dict[str, Any]:
        """All fields as a dict (override to post-process)."""
        v: dict[str, Any] = {row.field: self.value(row.field) for row in self.query(FormRow)}
        if self.chip_identity is not None and self._as_on_chip(v):
            v["identity_from_chip"] = True
            if "name" in self.chip_identity.gaiji_fields:
                v["name_on_chip"] = self.chip_identity.name
        return v

    def _as_on_chip(self, values: dict[str, Any]) -> bool:
        """True when every identity field the card filled still holds the card's value:
        only then is the record's 本人確認 the chip (a kept typed value or an edit after
        the read makes it a card looked at)."""
        return bool(self._chip_values) and all(
            str(values.get(field, "")).strip() == value
            for field, value in self._chip_values.items()
        )

    # -- the My Number card (F4) ----------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "read_card":
            return self.TAKES_CARD
        return super().check_action(action, parameters)

    def action_read_card(self) -> None:
        if self.TAKES_CARD:
            self._read_card()

    @work(exclusive=True, group="card")
    async def _read_card(self) -> None:
        """Probe, warn before the last try, ask the resident's PIN, read, fill."""
        import asyncio

        from odekake.cardreader import CardReadError, probe, read_identity

        message = self.query_one("#form-message", Static)
        message.update(t("card_reading"))
        message.set_class(False, "-error")
        try:
            status = await asyncio.to_thread(probe)
            if status.tries_left == 0:
                raise CardReadError("locked", tries_left=0)
            if status.last_try:
                go_on = await self.app.push_screen_wait(
                    Confirm(t("card_last_try_q"), t("card_last_try_yes"), t("card_last_try_no"))
                )
                if not go_on:
                    message.update("")
                    return
            warning = t("card_last_try_q") if status.last_try else ""
            pin = await self.app.push_screen_wait(navigation.make("card_pin", warning))
            if pin is None:
                message.update("")
                return
            message.update(t("card_reading"))
            identity = await asyncio.to_thread(read_identity, pin)
            del pin
        except CardReadError as exc:
            message.update(str(exc))
            message.set_class(True, "-error")
            logging.getLogger("kiosk").warning("card read failed: %s", exc.kind)
            return
        self.fill_from_card(identity)
        logging.getLogger("kiosk").info("card read (four items from the chip)")

    def fill_from_card(self, identity: CardIdentity) -> None:
        """Fill the identity fields from the chip; a field already typed is never changed.

        Every value from the card is shown as plain text (a card is not trusted to hold
        markup). Card values that differ from what was kept come first in the message,
        then the address in full (the field shows only its start)."""
        from rich.markup import escape

        from odekake.masterdata.wareki import wareki_date

        wanted = {
            "name": identity.name_shown,
            "address": identity.address_shown,
            "birth_date": wareki_date(identity.birth_date),
        }
        labels = {"name": "氏名", "address": "住所", "birth_date": "生年月日"}
        kept: list[str] = []
        chip_values: dict[str, str] = {}
        for field, value in wanted.items():
            found = self.query(f"#f-{field}")
            if not found:
                continue
            control = found.first()
            if not isinstance(control, Input):
                continue
            chip_values[field] = value
            typed = control.value.strip()
            if typed and typed != value:
                kept.append(f"{labels[field]}: {escape(value)}")
                continue
            control.value = value
        self._choose_card_document()
        self.chip_identity = identity
        self._chip_values = chip_values
        born = identity.birth_date
        lines = []
        if kept:
            lines.append(f"{t('card_kept')} — " + "、".join(kept))
        lines.append(t("card_filled"))
        if identity.gaiji_fields:
            lines.append(t("card_gaiji"))
        if "address" in chip_values and not any(k.startswith("住所") for k in kept):
            lines.append(f"住所(カード): {escape(identity.address_shown)}")
        lines.append(
            f"生年月日 {born.year}年{born.month}月{born.day}日({wareki_date(born)})"
            f" 性別 {identity.sex_label}"
        )
        message = self.query_one("#form-message", Static)
        message.update("\n".join(lines))
        message.set_class(bool(kept or identity.gaiji_fields), "-error")
        rest = [row.control for row in self.query(FormRow) if row.field not in wanted]
        if rest:
            self.set_focus(rest[0])

    def _choose_card_document(self) -> None:
        """The identity document is the card itself (first free document row)."""
        card = "マイナンバーカード"
        for field in ("id_doc1", "id_doc2"):
            found = self.query(f"#f-{field}")
            if not found:
                return
            control = found.first()
            if not isinstance(control, Choice):
                return
            if control.value == card:
                return
            if not control.value:
                control.value = card
                return

    def row(self, field: str, label_key: str, control: Widget) -> FormRow:
        """A form row whose control gets the id ``f-<field>``."""
        control.id = f"f-{field}"
        return FormRow(field, t(label_key), control)

    @property
    def dirty(self) -> bool:
        """True when anything was typed, or something differs from the form as it opened."""
        return self.touched or self.changed

    @property
    def changed(self) -> bool:
        """True when a field differs from the form as it opened (keys alone do not count:
        a scanned code typed into a field and taken out again leaves it unchanged)."""
        return self._initial is not None and self.values() != self._initial

    def actor(self) -> Actor:
        """Who acts, at which stop, now."""
        return self.kiosk.actor()

    def today(self) -> Any:
        """The JST date now."""
        return local_date(self.kiosk.now())

    def show_errors(self, errors: dict[str, str]) -> None:
        """Show each error next to its field and focus the first bad field."""
        first: Widget | None = None
        for row in self.query(FormRow):
            msg = errors.get(row.field)
            row.set_error(msg)
            if msg and first is None:
                first = row.control
        unknown = [m for f, m in errors.items() if not self.query(f"#row-{f}")]
        text = t("fix_errors") + ("\n" + "\n".join(unknown) if unknown else "")
        self.query_one("#form-message", Static).update(text)
        self.query_one("#form-message").set_class(True, "-error")
        if first is not None:
            self.set_focus(first)
            if isinstance(first, Input):
                # Select the bad text so what the operator types replaces it
                # (the field may already have had focus: no focus event then).
                first.select_all()

    def action_save(self) -> None:
        # Ctrl+S is a priority binding: it runs ahead of keys still queued in the
        # controls (each widget has its own queue). Post a marker to every control
        # and read the form only when all markers have run, i.e. after every key
        # typed before Ctrl+S has been applied.
        controls = [row.control for row in self.query(FormRow)]
        pending = set(range(len(controls)))
        if not controls:
            self.save()
            return

        def reached(i: int) -> None:
            pending.discard(i)
            if not pending:
                self.save()

        for i, control in enumerate(controls):
            control.call_later(reached, i)

    def save(self) -> None:
        """Validate and save through the service; show errors or continue."""
        if self._saving:
            return
        self._saving = True
        try:
            record = self.submit(self.values())
        except FormErrors as exc:
            self.show_errors(exc.errors)
            return
        except OdekakeError as exc:
            self.query_one("#form-message", Static).update(str(exc))
            self.query_one("#form-message").set_class(True, "-error")
            return
        finally:
            self._saving = False
        # The service returned: the record has committed.
        self._initial = self.values()
        self.touched = False
        for row in self.query(FormRow):
            row.set_error(None)
        self.query_one("#form-message", Static).update("")
        self.after_save(record)

    def action_clear_field(self) -> None:
        # After the keys already queued for the field (like Ctrl+S, see action_save).
        target = self.focused
        if isinstance(target, Input):
            target.call_later(target.clear)

    def action_back(self) -> None:
        if not self.dirty:
            self.dismiss_form()
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.dismiss_form()

        self.app.push_screen(Confirm(t("discard_q"), t("discard"), t("keep_editing")), answer)

    def dismiss_form(self) -> None:
        """Leave the form without saving."""
        self.app.pop_screen()


def _same(current: Any, scanned: Any) -> bool:
    """True when a field already holds what the code says (text compared as text)."""
    if isinstance(current, bool):
        return current == (str(scanned).lower() in ("1", "true", "yes", "はい"))
    return str(current).strip() == str(scanned).strip()
