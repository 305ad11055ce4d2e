"""Key changes and admin grants need the acting admin's password, re-entered.

Attack: with a console session alone (stolen or forged), the revoked van-1 was
re-enrolled with the thief's key and a new admin account added; the audit log
named the real admin and no key fingerprint.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
from click.testing import CliRunner

from odekake.cli import main
from odekake.storage.db import connect
from odekake.sync.keys import fingerprint, generate_key, public_key_text, revoke_device
from tests.security.conftest import ADMIN, ADMIN_PASSWORD, HubAndVan
from tests.sync.conftest import HubProcess


def _signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
    page = client.get("/console/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert token
    got = client.post(
        "/console/login",
        data={"login": ADMIN, "password": ADMIN_PASSWORD, "csrftoken": token.group(1)},
    )
    assert got.status_code == 303
    return client


def _post(client: httpx.Client, path: str, page: str, data: dict[str, str]) -> httpx.Response:
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get(page).text)
    assert token
    return client.post(path, data={**data, "csrftoken": token.group(1)})


def _audit(hub: Path, action: str) -> list[tuple[str, str, str]]:
    db = connect(hub, role="hub")
    try:
        return [
            (str(r[0]), str(r[1]), str(r[2]))
            for r in db.execute(
                "SELECT actor, target, detail FROM audit_log WHERE action = ? ORDER BY seq",
                [action],
            )
        ]
    finally:
        db.close()


def test_a_session_alone_cannot_re_enrol_a_revoked_van_or_add_an_admin(
    hub_and_van: HubAndVan, serve_hub: Callable[[Path], HubProcess]
) -> None:
    db = connect(hub_and_van.hub, role="hub")
    old_key = str(
        db.execute("SELECT public_key FROM devices WHERE device_id = 'van-1'").fetchone()[0]
    )
    revoke_device(db, "van-1")
    db.close()
    hub = serve_hub(hub_and_van.hub)
    thief_key = public_key_text(generate_key())
    client = _signed_in(hub.url)
    try:
        enrol = {"device_id": "van-1", "public_key": thief_key, "replace": "1"}
        for password in ("", "wrong-password-1"):
            refused = _post(
                client,
                "/console/devices/enroll",
                "/console/devices",
                {**enrol, "confirm_password": password},
            )
            assert refused.status_code == 400 and "パスワード" in refused.text
        grant = {"op": "add", "login": "thief", "name": "泥棒", "role": "admin"}
        grant["password"] = "thief-pass-2026"
        refused = _post(client, "/console/staff", "/console/staff", grant)
        assert refused.status_code == 400 and "パスワード" in refused.text
        db = connect(hub_and_van.hub, role="hub")
        assert db.execute(
            "SELECT public_key, status FROM devices WHERE device_id = 'van-1'"
        ).fetchone() == (old_key, "revoked")
        assert db.execute("SELECT COUNT(*) FROM staff WHERE login = 'thief'").fetchone()[0] == 0
        db.close()
        # the wrong password is audited (the empty one was no guess)
        assert [a[1] for a in _audit(hub_and_van.hub, "reauth.failed")] == ["device.enrol"]
        # The admin who re-enters the password does it, audited with both fingerprints.
        done = _post(
            client,
            "/console/devices/enroll",
            "/console/devices",
            {**enrol, "confirm_password": ADMIN_PASSWORD},
        )
        assert done.status_code == 200, done.text[-400:]
    finally:
        client.close()
    actor, target, detail = _audit(hub_and_van.hub, "device.enrol")[-1]
    assert (actor, target) == (f"staff:{ADMIN}", "van-1")
    assert fingerprint(old_key) in detail and fingerprint(thief_key) in detail


def test_cli_enrol_audits_old_and_new_key_fingerprints(hub_and_van: HubAndVan) -> None:
    db = connect(hub_and_van.hub, role="hub")
    old_key = str(
        db.execute("SELECT public_key FROM devices WHERE device_id = 'van-1'").fetchone()[0]
    )
    db.close()
    new_key = public_key_text(generate_key())
    res = CliRunner().invoke(
        main,
        ["device", "enroll", "--hub-db", str(hub_and_van.hub), "--device", "van-1",
         "--public-key", new_key, "--replace"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    _actor, target, detail = _audit(hub_and_van.hub, "device.enrol")[-1]
    assert target == "van-1"
    assert fingerprint(old_key) in detail and fingerprint(new_key) in detail
