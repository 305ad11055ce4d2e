"""証明書の交付: the most common request takes a handful of keys.

Field order follows the counter: name and address are typed, the identity
document is chosen, and everything else defaults to the usual request
(住民票の写し, 1 通, 本人, 現金) until changed.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input, Static

from kiosk.labels import PAYMENT_LABELS, t
from kiosk.screens.base import FormScreen, chk, inp, sel
from kiosk.widgets.choice import Choice
from kiosk.widgets.field import FormRow
from odekake.errors import OdekakeError
from odekake.masterdata import catalog
from odekake.services import certificates
from odekake.services.identity import ALL_DOCS
from odekake.storage.records import Record

ID_OPTIONS = [(d, d) for d in ALL_DOCS]


def id_select() -> Choice:
    """The identity-document list (photo IDs first)."""
    return sel(ID_OPTIONS, blank=True)


class CertificateScreen(FormScreen):
    """One certificate request."""

    TITLE_KEY = "svc_certificate"
    PREFILL_SERVICE = "cert"
    TAKES_PERSONAL_DATA = True
    TAKES_CARD = True

    def fields(self) -> ComposeResult:
        types = certificates.certificate_types(self.kiosk.db)
        # Required (or required for this request) first: they fit 80×24 unscrolled.
        yield self.row("name", "name", inp())
        yield self.row("address", "address", inp())
        yield self.row("id_doc1", "id_doc1", id_select())
        yield self.row("id_doc2", "id_doc2", id_select())
        yield self.row(
            "service_code", "cert_type", sel([(s.name, s.code) for s in types], types[0].code)
        )
        yield self.row("copies", "copies", inp("1", restrict=r"[0-9０-９]*"))
        # Drawn with the form, not updated after it mounts (that cost one more layout).
        yield Static(self.fee_text(types[0].code, "1"), id="fee")
        yield self.row(
            "relation", "relation", sel([(r, r) for r in certificates.RELATIONS], "本人")
        )
        yield self.row("subject_name", "subject_name", inp())
        yield self.row("proxy_letter", "proxy_letter_row", chk(t("proxy_letter")))
        yield self.row("inkan_card", "inkan_card_row", chk(t("inkan_card")))
        yield self.row(
            "payment", "payment", sel([(v, k) for k, v in PAYMENT_LABELS.items()], "cash")
        )
        # Optional after, below a rule: Tab reaches them only past every required field.
        yield Static(t("optional_heading"), classes="subtitle", id="optional-heading")
        yield self.row("kana", "kana", inp())
        yield self.row("birth_date", "birth_date", inp(placeholder=t("date_hint")))
        yield self.row("phone", "phone", inp())
        for i, item in enumerate(certificates.OPTIONAL_ITEMS):
            label = t("optional_items") if i == 0 else ""
            control = chk(item)
            control.id = f"f-item{i}"
            yield FormRow(f"item{i}", label, control)
        yield self.row("purpose", "purpose", inp())
        yield self.row("addressee", "addressee", inp(placeholder=t("addressee_hint")))

    def values(self) -> dict[str, Any]:
        v = super().values()
        items = [
            item for i, item in enumerate(certificates.OPTIONAL_ITEMS) if v.pop(f"item{i}", False)
        ]
        v["optional_items"] = items
        return v

    def show_errors(self, errors: dict[str, str]) -> None:
        # Optional-item errors show under the first item's row.
        if "optional_items" in errors:
            errors = dict(errors)
            errors["item0"] = errors.pop("optional_items")
        super().show_errors(errors)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "f-copies":
            self.update_fee()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        if event.choice.id == "f-service_code":
            self.update_fee()

    def update_fee(self) -> None:
        """Show fee × copies from the dated fee table as the operator types."""
        self.query_one("#fee", Static).update(
            self.fee_text(self.value("service_code"), str(self.value("copies")))
        )

    def fee_text(self, code: str, copies_typed: str) -> str:
        """「手数料 300円 × 1 = 300円」 for a certificate type and the copies typed."""
        try:
            each = catalog.fee_for(self.kiosk.db, code, self.today())
        except OdekakeError as exc:
            return str(exc)
        raw = copies_typed.strip()
        copies = int(raw) if raw.isdigit() else 0
        return f"  {t('fee')} {each:,}{t('yen')} × {copies} = {each * copies:,}{t('yen')}"

    def submit(self, values: dict[str, Any]) -> Record:
        return certificates.issue(self.kiosk.db, values, self.actor())
