"""車両・同期: every device with its sync state, enrol (the van is told the hub's key), revoke,
and a quarantined record opened (audited) and resolved by a new row (records untouched)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from odekake.storage.db import connect
from odekake.sync.keys import generate_key, key_path_for, load_private_key, public_key_text
from odekake.sync.status import hub_status
from odekake.sync.wire import ensure_hub_key
from tests.console.conftest import PASSWORDS, Browser


def quarantine_one(hub_path: Path, van_path: Path, seq: int = 3) -> str:
    """Send the hub a valid, van-signed rewrite of the van's record ``seq`` (already at the
    hub): the hub quarantines it. Returns the record's id."""
    from odekake.storage.canonical import canonical_json, sha256_hex
    from odekake.storage.records import record_hash
    from odekake.sync.bundle import write_bundle
    from odekake.sync.ingest import ingest_bytes

    van = connect(van_path)
    dev = str(van.execute("SELECT value FROM meta WHERE key='device_id'").fetchone()[0])
    rid, wall, hlc, typ, prev = van.execute(
        "SELECT id, wall_time, hlc, type, prev_hash FROM records WHERE device_id=? AND seq=?",
        [dev, seq],
    ).fetchone()
    van.close()
    payload = canonical_json({"people": 99, "stop_id": "rewritten"})
    ph = sha256_hex(payload)
    h = record_hash(
        id=rid, device_id=dev, seq=seq, wall_time=wall, hlc=hlc, type=typ,
        payload_hash=ph, prev_hash=prev, supersedes=None,
    )  # fmt: skip
    buf = io.BytesIO()
    write_bundle(
        buf,
        [(rid, dev, seq, wall, hlc, typ, payload, ph, prev, h, None)],
        device_id=dev,
        from_seq=seq,
        to_seq=seq,
        key=load_private_key(key_path_for(van_path)),
    )
    hub = connect(hub_path, role="hub")
    assert ingest_bytes(hub, buf.getvalue()).quarantined == 1
    hub.close()
    return str(rid)


@pytest.fixture
def admin(browser: Browser) -> Browser:
    assert browser.login("admin").status_code == 303
    return browser


def test_devices_page_shows_each_device(admin: Browser, hub_path: Path) -> None:
    db = connect(hub_path, role="hub")
    statuses = hub_status(db)
    page = admin.client.get("/console/devices")
    assert page.status_code == 200
    for st in statuses:
        row = page.text.split(f'data-device="{st.device_id}"', 1)[1].split("</tr>", 1)[0]
        assert f"{st.acked_seq} 番まで" in row
        assert ("有効" in row) == (st.status == "active")
    assert "隔離された記録はありません" in page.text


def test_enrol_then_revoke(admin: Browser, hub_path: Path) -> None:
    pub = public_key_text(generate_key())
    got = admin.post(
        "/console/devices/enroll",
        {
            "device_id": "van-new-01",
            "public_key": pub,
            "van_id": "",
            "confirm_password": PASSWORDS["admin"],
        },
        page="/console/devices",
    )
    assert got.status_code == 200 and "ハブに登録しました" in got.text
    hub_key = public_key_text(ensure_hub_key(hub_path))
    assert f"odekake device pin-hub --db van.db --hub-key {hub_key}" in got.text
    db = connect(hub_path, role="hub")
    assert db.execute(
        "SELECT status, public_key FROM devices WHERE device_id='van-new-01'"
    ).fetchone() == ("active", pub)
    gone = admin.post(
        "/console/devices/revoke", {"device_id": "van-new-01"}, page="/console/devices"
    )
    assert gone.status_code == 303
    assert db.execute("SELECT status FROM devices WHERE device_id='van-new-01'").fetchone()[0] == (
        "revoked"
    )
    acts = [
        r[0]
        for r in db.execute(
            "SELECT action FROM audit_log WHERE actor='staff:admin' AND target='van-new-01' "
            "ORDER BY seq"
        )
    ]
    assert acts == ["device.enrol", "device.revoke"]
    again = admin.post(
        "/console/devices/enroll",
        {"device_id": "van-new-01", "public_key": pub, "confirm_password": PASSWORDS["admin"]},
        page="/console/devices",
    )
    assert again.status_code == 400 and "失効済み" in again.text


def test_bad_enrol_changes_nothing(admin: Browser, hub_path: Path) -> None:
    bad = admin.post(
        "/console/devices/enroll",
        {
            "device_id": "van-new-02",
            "public_key": "not-a-key",
            "confirm_password": PASSWORDS["admin"],
        },
        page="/console/devices",
    )
    assert bad.status_code == 400 and 'id="devices-error"' in bad.text
    assert 'value="van-new-02"' in bad.text
    missing = admin.post("/console/devices/enroll", {"device_id": ""}, page="/console/devices")
    assert missing.status_code == 400 and "公開鍵を入力" in missing.text
    db = connect(hub_path, role="hub")
    assert (
        db.execute("SELECT COUNT(*) FROM devices WHERE device_id='van-new-02'").fetchone()[0] == 0
    )
    unknown = admin.post("/console/devices/revoke", {"device_id": "nope"}, page="/console/devices")
    assert unknown.status_code == 400 and "未登録の端末" in unknown.text


def test_quarantine_open_and_resolve(admin: Browser, hub_path: Path, demo_dir: Path) -> None:
    rid = quarantine_one(hub_path, demo_dir / "van.db")
    db = connect(hub_path, role="hub")
    before = db.execute("SELECT * FROM records WHERE id = ?", [rid]).fetchone()
    n = int(db.execute("SELECT n FROM sync_quarantine").fetchone()[0])
    listing = admin.client.get("/console/devices")
    assert f'data-quarantine="{n}"' in listing.text and "同じIDで内容の異なる記録" in listing.text
    opened = admin.client.get(f"/console/devices/quarantine/{n}")
    assert opened.status_code == 200
    van_part = opened.text.split('id="van-version"', 1)[1].split("</pre>", 1)[0]
    hub_part = opened.text.split('id="hub-version"', 1)[1].split("</pre>", 1)[0]
    assert "rewritten" in van_part and "rewritten" not in hub_part and rid in hub_part
    views = db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action='view.personal' AND target=?",
        [f"quarantine:{n}"],
    ).fetchone()[0]
    assert views == 1
    no_reason = admin.post(
        f"/console/devices/quarantine/{n}/resolve",
        {"keep": "van", "reason": " "},
        page="/console/devices",
    )
    assert no_reason.status_code == 400 and "理由を入力" in no_reason.text
    done = admin.post(
        f"/console/devices/quarantine/{n}/resolve",
        {"keep": "van", "reason": "車両の入力が正しいと窓口担当に確認"},
        page="/console/devices",
    )
    assert done.status_code == 303
    kept = db.execute(
        "SELECT kept, kept_hash, resolved_by FROM sync_quarantine_resolutions WHERE quarantine_n=?",
        [n],
    ).fetchone()
    van_hash = db.execute("SELECT hash FROM sync_quarantine WHERE n=?", [n]).fetchone()[0]
    assert kept == ("van", van_hash, "staff:admin")
    assert db.execute("SELECT * FROM records WHERE id = ?", [rid]).fetchone() == before
    assert all(st.quarantined == 0 for st in hub_status(db))  # no alert once resolved
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='sync.resolve' AND target=?",
            [f"quarantine:{n}"],
        ).fetchone()[0]
        == 1
    )
    # the reason the form says goes to the audit log goes there
    detail = db.execute(
        "SELECT detail FROM audit_log WHERE action='sync.resolve' AND target=?", [f"quarantine:{n}"]
    ).fetchone()[0]
    assert "車両の入力が正しいと窓口担当に確認" in detail
    twice = admin.post(
        f"/console/devices/quarantine/{n}/resolve",
        {"keep": "hub", "reason": "やはりハブ"},
        page="/console/devices",
    )
    assert twice.status_code == 400 and "解決済み" in twice.text
    assert "解決済み: 車両から届いた版を正とする" in admin.client.get("/console/devices").text
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE sync_quarantine_resolutions SET kept='hub'")
    assert admin.client.get("/console/devices/quarantine/999").status_code == 404


def test_device_refusals(browser: Browser, hub_path: Path, demo_dir: Path) -> None:
    n = 1
    quarantine_one(hub_path, demo_dir / "van.db")
    assert browser.client.get("/console/devices", follow_redirects=False).status_code == 303
    assert browser.login("mgr").status_code == 303
    assert browser.client.get("/console/devices").status_code == 403
    assert browser.client.get(f"/console/devices/quarantine/{n}").status_code == 403
    tok = browser.token("/console/")
    pub = public_key_text(generate_key())
    assert (
        browser.client.post(
            "/console/devices/enroll",
            data={"device_id": "x-1", "public_key": pub, "csrftoken": tok},
        ).status_code
        == 403
    )
    browser.client.post("/console/logout", data={"csrftoken": tok})
    assert browser.login("admin").status_code == 303
    no_csrf = browser.client.post(
        f"/console/devices/quarantine/{n}/resolve", data={"keep": "hub", "reason": "x"}
    )
    assert no_csrf.status_code == 403
    db = connect(hub_path, role="hub")
    assert db.execute("SELECT COUNT(*) FROM sync_quarantine_resolutions").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM devices WHERE device_id='x-1'").fetchone()[0] == 0
    assert not re.search(r"view\.personal", str(db.execute(
        "SELECT group_concat(action) FROM audit_log WHERE actor='staff:mgr'"
    ).fetchone()[0]))  # fmt: skip


def _code_form(admin: Browser, van: str, password: str):  # type: ignore[no-untyped-def]
    return admin.post(
        "/console/devices/codes",
        {"code_van_id": "", "code_new_van_id": van, "confirm_password": password},
        page="/console/devices",
    )


def test_enrolment_code_needs_the_admin_password_and_is_shown_once(
    admin: Browser, hub_path: Path
) -> None:
    db = connect(hub_path, role="hub")
    none = _code_form(admin, "van-new-03", "")
    assert none.status_code == 400 and "パスワードの再入力" in none.text
    wrong = _code_form(admin, "van-new-03", "not-the-password")
    assert wrong.status_code == 400
    assert db.execute("SELECT COUNT(*) FROM enrol_codes").fetchone()[0] == 0
    made = _code_form(admin, "van-new-03", PASSWORDS["admin"])
    assert made.status_code == 200
    code = re.search(r'id="code-text"[^>]*>([A-Z0-9-]{24})<', made.text)
    assert code, made.text[:2000]
    assert "<svg" in made.text.split('id="code-qr"', 1)[1][:200]
    assert "15分" in made.text and "--code " + code.group(1) in made.text
    row = db.execute("SELECT van_id, state, mac_key FROM enrol_codes").fetchone()
    assert row[:2] == ("van-new-03", "pending") and code.group(1) not in row[2]
    listed = admin.client.get("/console/devices").text
    assert code.group(1) not in listed  # only its public first group is listed again
    assert f'data-code="{code.group(1)[:4]}"' in listed
    gone = admin.post(
        "/console/devices/codes/cancel", {"code_id": code.group(1)[:4]}, page="/console/devices"
    )
    assert gone.status_code == 303
    assert db.execute("SELECT state, mac_key FROM enrol_codes").fetchone() == ("cancelled", "")
    acts = [r[0] for r in db.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert "reauth.failed" in acts and "enrol.code.create" in acts
    assert acts[-1] == "enrol.code.cancel"


def test_a_key_is_replaced_only_through_a_code(admin: Browser, hub_path: Path) -> None:
    first = public_key_text(generate_key())
    form = {"device_id": "van-new-04", "public_key": first, "confirm_password": PASSWORDS["admin"]}
    assert admin.post("/console/devices/enroll", form, page="/console/devices").status_code == 200
    other = {**form, "public_key": public_key_text(generate_key()), "replace": "1"}
    refused = admin.post("/console/devices/enroll", other, page="/console/devices")
    assert refused.status_code == 400 and "登録コード" in refused.text
    db = connect(hub_path, role="hub")
    assert db.execute(
        "SELECT public_key FROM devices WHERE device_id = 'van-new-04'"
    ).fetchone() == (first,)
    page = _code_form(admin, "van-new-04", PASSWORDS["admin"])
    assert 'id="code-replaces"' in page.text and "van-new-04" in page.text


def test_three_wrong_passwords_for_a_code_end_the_admins_sessions(
    admin: Browser, hub_path: Path
) -> None:
    answers = [_code_form(admin, "van-new-05", f"wrong-password-{n}") for n in range(3)]
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert "ログインを終了しました" in answers[2].text
    after = admin.client.get("/console/devices", follow_redirects=False)
    assert after.status_code in (302, 303) and "/login" in after.headers["location"]
    db = connect(hub_path, role="hub")
    acts = [r[0] for r in db.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert acts.count("reauth.failed") == 3 and acts[-1] == "reauth.sessions_ended"
    assert db.execute("SELECT COUNT(*) FROM enrol_codes").fetchone()[0] == 0
