"""Corrections: supervisors only, audited, replace (never add), never in place."""

from __future__ import annotations

import pytest

from odekake.access import audit
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.access.authz import PermissionDenied
from odekake.errors import OdekakeError, ValidationError
from odekake.masterdata import master
from odekake.services.corrections import correct
from odekake.storage import records as rec


def test_a_supervisor_correction_replaces_and_is_audited(city_db) -> None:
    master.add_operator(city_db, "sv1", "監督", ["supervisor"], "222222", kdf=TEST_ONLY_CHEAP_KDF)
    master.add_operator(city_db, "op1", "窓口", ["operator"], "111111", kdf=TEST_ONLY_CHEAP_KDF)
    old = rec.append(city_db, "frailty.check", {"stop_id": "s", "people": 8})
    with pytest.raises(PermissionDenied):
        correct(city_db, old.id, {"people": 6}, operator_id="op1", reason="数え間違い")
    new = correct(city_db, old.id, {"people": 6}, operator_id="sv1", reason="数え間違い")
    assert new.supersedes == old.id and new.payload is not None and new.payload["people"] == 6
    live = rec.effective(rec.iter_records(city_db))
    assert [r.id for r in live] == [new.id]
    assert rec.get(city_db, old.id).payload == {"stop_id": "s", "people": 8}  # kept as it was
    actions = [(e.actor, e.action, e.target) for e in audit.entries(city_db)]
    assert ("op1", "role.denied", "correct") in actions
    assert ("sv1", "record.correct", old.id) in actions
    with pytest.raises(OdekakeError, match="すでに訂正"):
        correct(city_db, old.id, {"people": 5}, operator_id="sv1", reason="再")


def test_what_may_not_be_corrected(city_db) -> None:
    master.add_operator(city_db, "sv1", "監督", ["supervisor"], "222222", kdf=TEST_ONLY_CHEAP_KDF)
    r = rec.append(city_db, "certificate.issue", {"stop_id": "s", "people": 1, "receipt_no": "R1"})
    with pytest.raises(ValidationError):
        correct(city_db, r.id, {"receipt_no": "R2"}, operator_id="sv1", reason="x")
    with pytest.raises(ValidationError):
        correct(city_db, r.id, {"people": -1}, operator_id="sv1", reason="x")
    with pytest.raises(ValidationError):
        correct(city_db, r.id, {"people": 1}, operator_id="sv1", reason=" ")
    sealed = rec.append(city_db, "x", {"stop_id": "s", "sealed": {"v": 1}})
    with pytest.raises(OdekakeError, match="市役所で訂正"):
        correct(city_db, sealed.id, {"subject_name": "別人"}, operator_id="sv1", reason="x")
