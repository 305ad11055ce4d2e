"""The audit log as a person reads it: detail keys and coded values in Japanese, instants in
Japan time (the console's 監査ログ shows :func:`describe`)."""

from __future__ import annotations

import re

from odekake.access.audit_search import describe


def test_an_enrolment_entry_reads_in_japanese() -> None:
    lines = dict(
        describe(
            {
                "code_id": "KQFE",
                "address": "10.0.0.9",
                "outcome": "registered",
                "reason": "wrong",
                "old_key": "",
                "new_key": "ab12",
                "expires_at": "2026-12-07T01:39:54+00:00",
                "kind": "usage_report",
            }
        )
    )
    assert lines["登録コードの番号"] == "KQFE" and lines["接続元アドレス"] == "10.0.0.9"
    assert lines["結果"] == "登録した" and lines["理由"] == "コードが違う"
    assert lines["有効期限"] == "2026-12-07 10:39"  # Japan time, like every other time
    assert lines["種類"] == "利用実績"
    assert dict(describe({"role": "admin"}))["役割"] == "システム管理者"
    assert not any(re.fullmatch(r"[a-z_]+", k) for k in lines), lines


def test_free_text_is_shown_as_typed() -> None:
    """What a person typed stays as typed; an unknown key is shown as it is."""
    assert dict(describe({"note": "wrong"}))["note"] == "wrong"
    assert dict(describe({"reason": "住所の誤り"}))["理由"] == "住所の誤り"
