"""One-time enrolment codes: each refusal named, guesses bounded, the code kept only
as a hash, and a man in the middle refused on both sides (a real hub process and a
loopback proxy)."""

from __future__ import annotations

import itertools
import json
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from odekake.access.audit import entries
from odekake.cli import main
from odekake.errors import OdekakeError
from odekake.storage.db import connect
from odekake.sync.client import push
from odekake.sync.enrol_client import EnrolFailed, enrol_with_code
from odekake.sync.enrol_codes import (
    ALPHABET,
    FREE_FAILURES,
    MAX_WRONG,
    EnrolRefused,
    EnrolThrottled,
    Redemption,
    cancel_code,
    code_id_of,
    create_code,
    list_codes,
    mac_key,
    new_code,
    normalise_code,
    parse_qr_text,
    qr_text,
    redeem,
    request_proof,
)
from odekake.sync.keys import generate_key, public_key_text
from odekake.sync.wire import pin_hub_key
from tests.sync.conftest import HubProcess, Site, give_sealing_key, make_van
from tests.sync.proxy import Exchange, ForgingProxy

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HUB_KEY = public_key_text(generate_key())
ALPHABET_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _attempt(code: str, device: str = "van-9", key: str | None = None) -> Redemption:
    public = key or public_key_text(generate_key())
    nonce = "0" * 31 + "1"
    cid = code_id_of(code)
    return Redemption(
        cid, device, public, nonce, request_proof(mac_key(code), cid, device, public, nonce)
    )


_ADDRESSES = itertools.count(1)


def _refused(db, attempt: Redemption, *, address: str = "", now: datetime = T) -> str:  # type: ignore[no-untyped-def]
    """The reason ``attempt`` is refused (from a fresh address unless one is given)."""
    where = address or f"10.9.0.{next(_ADDRESSES)}"
    with pytest.raises(EnrolRefused) as caught:
        redeem(db, attempt, HUB_KEY, address=where, now=now)
    assert re.search(r"[ぁ-んァ-ン一-龥]", str(caught.value)), str(caught.value)
    return caught.value.reason


def test_code_is_80_bits_grouped_and_typed_loosely() -> None:
    code = new_code()
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4, 4]
    assert set(code.replace("-", "")) <= set(ALPHABET) and len(ALPHABET) == 32
    assert not set("0O1I") & set(ALPHABET)
    assert normalise_code(code.lower().replace("-", " ")) == code
    assert parse_qr_text(qr_text("http://10.0.0.5:8765/", code)) == ("http://10.0.0.5:8765", code)


def test_each_refusal_is_named_and_audited(site: Site) -> None:
    db = connect(site.hub, role="hub")
    made = create_code(db, "van-9", actor="staff:admin", now=T)
    # only the MAC key is kept: the code's secret part is nowhere in the file
    secret = made.code[5:].replace("-", "")
    db.close()
    assert secret.encode() not in site.hub.read_bytes()
    db = connect(site.hub, role="hub")
    assert _refused(db, _attempt("ZZZZ-" + made.code[5:])) == "unknown"
    assert _refused(db, _attempt(made.code), now=T + timedelta(minutes=16)) == "expired"
    other = create_code(db, "van-9", actor="staff:admin", now=T)
    answer = redeem(db, _attempt(other.code), HUB_KEY, address="10.0.0.9", now=T)
    assert answer["outcome"] == "registered" and answer["van_id"] == "van-9"
    assert _refused(db, _attempt(other.code, "van-10")) == "used"
    cancelled = create_code(db, "van-9", actor="staff:admin", now=T)
    cancel_code(db, code_id_of(cancelled.code), actor="staff:admin", now=T)
    assert _refused(db, _attempt(cancelled.code)) == "cancelled"
    wrong = create_code(db, "van-9", actor="staff:admin", now=T)
    guess = wrong.code[:5] + "AAAA-AAAA-AAAA-AAAA"
    reasons = [_refused(db, _attempt(guess), address=f"10.0.1.{i}") for i in range(MAX_WRONG)]
    assert reasons == ["wrong"] * MAX_WRONG
    assert _refused(db, _attempt(wrong.code), address="10.0.2.1") == "burnt"  # even the right one
    states = {c.code_id: c.state for c in list_codes(db, now=T)}
    assert states[code_id_of(wrong.code)] == "burnt"
    assert states[code_id_of(cancelled.code)] == "cancelled"
    assert states[code_id_of(other.code)] == "used"
    assert db.execute("SELECT COUNT(*) FROM enrol_codes WHERE mac_key != ''").fetchone()[0] == 0
    actions = [e.action for e in entries(db)]
    for action in ("enrol.code.create", "enrol.redeem", "enrol.failed", "enrol.code.cancel"):
        assert action in actions
    assert actions.count("enrol.code.burnt") == 1
    db.close()


def test_guesses_from_one_address_are_throttled(site: Site) -> None:
    db = connect(site.hub, role="hub")
    made = create_code(db, "van-9", actor="staff:admin", now=T)
    for n in range(FREE_FAILURES):
        guess = f"Z{n + 2}ZZ-" + made.code[5:]
        assert _refused(db, _attempt(guess), address="10.0.0.9") == "unknown"
    logged = len(entries(db))
    for _ in range(3):  # refused without looking, and without writing to the audit log
        with pytest.raises(EnrolThrottled) as caught:
            redeem(db, _attempt(made.code), HUB_KEY, address="10.0.0.9", now=T)
        assert caught.value.status == 429 and "待って" in str(caught.value)
    assert len(entries(db)) == logged
    assert [e.action for e in entries(db)].count("enrol.throttled") == 1
    # another address is not held up, and the right code still works there
    assert redeem(db, _attempt(made.code), HUB_KEY, address="10.0.0.8", now=T)["outcome"]
    db.close()


def test_a_code_cannot_take_over_another_vans_device(site: Site) -> None:
    db = connect(site.hub, role="hub")
    first = create_code(db, "van-1", actor="staff:admin", now=T)
    redeem(db, _attempt(first.code, "dev-a"), HUB_KEY, address="10.0.0.9", now=T)
    second = create_code(db, "van-2", actor="staff:admin", now=T)
    assert _refused(db, _attempt(second.code, "dev-a")) == "other_van"
    third = create_code(db, "van-1", actor="staff:admin", now=T)
    assert [d for d, _ in third.replaces] == ["dev-a"]
    again = redeem(db, _attempt(third.code, "dev-a"), HUB_KEY, address="10.0.0.9", now=T)
    assert again["outcome"] == "replaced"
    detail = [e.detail for e in entries(db) if e.action == "enrol.redeem"][-1]
    assert detail["old_key"] and detail["new_key"] and detail["old_key"] != detail["new_key"]
    db.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """One real hub process for this module's HTTP tests (each uses its own codes)."""
    path = tmp_path_factory.mktemp("enrol-hub") / "hub.db"
    connect(path, role="hub", create=True).close()
    give_sealing_key(path)
    h = HubProcess(path).start()
    yield h
    h.stop()


def _code(hub: HubProcess, van: str = "van-1") -> str:
    db = connect(hub.db, role="hub")
    code = create_code(db, van, actor="staff:admin").code
    db.close()
    return code


def test_van_enrols_with_the_code_then_pushes(hub: HubProcess, tmp_path: Path) -> None:
    van = make_van(tmp_path, "van-1", 3)
    db = connect(van)  # an old hub's key pinned before: the code vouches for the new one
    pin_hub_key(db, public_key_text(generate_key()))
    db.close()
    result = CliRunner().invoke(
        main, ["device", "enroll", "--db", str(van), "--code", qr_text(hub.url, _code(hub))]
    )
    assert result.exit_code == 0, result.output
    assert (
        "ハブに端末を登録しました" in result.output
        and "署名鍵を新しい鍵に置き換えました" in result.output
    )
    db = connect(van)
    assert db.execute("SELECT hub_url FROM sync_state").fetchone()[0] == hub.url
    db.close()
    assert push(van, hub.url, retries=0).acked_seq == 3


def test_endpoint_is_bounded_and_refuses_by_name(hub: HubProcess) -> None:
    url = f"{hub.url}/v1/enrol"
    big = httpx.post(url, content=b"{" + b" " * 5000 + b"}")
    assert big.status_code == 413
    for body in (b"not json", b'{"code_id": "A", "code_id": "B"}', b"[]", b'{"x": 1}'):
        answer = httpx.post(url, content=body)
        assert answer.status_code == 400, body
        assert re.search(r"[ぁ-んァ-ン一-龥]", answer.json()["error"])
    wrong = _attempt(_code(hub))
    sent = dict(wrong.__dict__, proof="f" * 64)
    answer = httpx.post(url, json=sent)
    assert answer.status_code == 403 and answer.json()["reason"] == "wrong"


def test_a_man_in_the_middle_who_swaps_the_hub_key_is_refused(
    hub: HubProcess, tmp_path: Path
) -> None:
    van = make_van(tmp_path, "van-m", 1)
    forged_key = public_key_text(generate_key())

    def swap(ex: Exchange) -> Exchange:
        data = json.loads(ex.body)
        data["hub_key"] = forged_key
        ex.body = json.dumps(data).encode()
        return ex

    with ForgingProxy(hub.url) as proxy:
        proxy.tamper = swap
        with pytest.raises(EnrolFailed, match="確かめられませんでした"):
            enrol_with_code(van, proxy.url, _code(hub))
    db = connect(van)
    assert db.execute("SELECT value FROM meta WHERE key = 'hub_sign_public_key'").fetchone() is None
    db.close()


def test_an_eavesdropper_cannot_register_its_own_key_with_the_code(
    hub: HubProcess, tmp_path: Path
) -> None:
    van = make_van(tmp_path, "van-e", 1)

    def withhold(ex: Exchange) -> Exchange:  # the proxy keeps the van's request to itself
        return Exchange(ex.method, ex.path, ex.request_headers, ex.request_body, 502, {}, b"{}")

    with ForgingProxy(hub.url) as proxy:
        proxy.answer_itself = withhold
        with pytest.raises(EnrolFailed):
            enrol_with_code(van, proxy.url, _code(hub))
        captured = json.loads(proxy.seen[0].request_body)
    captured["public_key"] = public_key_text(generate_key())  # the attacker's own key
    answer = httpx.post(f"{hub.url}/v1/enrol", json=captured)
    assert answer.status_code == 403 and answer.json()["reason"] == "wrong"
    db = connect(hub.db, role="hub")
    assert db.execute("SELECT COUNT(*) FROM devices WHERE device_id = 'van-e'").fetchone()[0] == 0
    db.close()


def test_slow_enrolment_uploads_never_take_the_hubs_other_slots(hub: HubProcess) -> None:
    """64 enrolment bodies trickling in (the hub's request slots, from two addresses under
    the per-address cap) leave the hub answering: enrolment has its own few slots."""
    head = (
        b"POST /v1/enrol HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4000\r\n\r\n{"
    )
    slow: list[socket.socket] = []
    try:
        for n in range(64):
            s = socket.socket()
            s.settimeout(5)
            s.bind((f"127.0.0.{2 + n % 2}", 0))
            s.connect(("127.0.0.1", hub.port))
            s.sendall(head)
            slow.append(s)
        time.sleep(1.0)
        health = httpx.get(f"{hub.url}/health", timeout=5)
        assert health.status_code == 200, health.text
        busy = httpx.post(f"{hub.url}/v1/enrol", json={}, timeout=5)
        assert busy.status_code == 503 and "混み合って" in busy.json()["error"]
    finally:
        for s in slow:
            s.close()


def test_an_unknown_code_id_answers_like_a_wrong_proof(hub: HubProcess) -> None:
    made = _attempt(_code(hub))
    unknown = dict(_attempt("ZZZZ-" + "A" * 4 + "-BBBB-CCCC-DDDD").__dict__)
    wrong = dict(made.__dict__, proof="f" * 64)
    answers = [httpx.post(f"{hub.url}/v1/enrol", json=b, timeout=5) for b in (unknown, wrong)]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()


def test_a_new_code_lifts_the_waits_so_the_van_can_enrol_at_once(site: Site) -> None:
    """Someone sharing the van's address (depot Wi-Fi, the hub PC itself) failing on purpose
    must not keep the van out: the administrator's next code ends every wait."""
    db = connect(site.hub, role="hub")
    old = create_code(db, "van-9", actor="staff:admin", now=T)
    for n in range(FREE_FAILURES + 2):
        _refused(db, _attempt(f"Z{n + 2}ZZ-" + old.code[5:]), address="10.0.0.77")
    with pytest.raises(EnrolThrottled):
        redeem(db, _attempt(old.code), HUB_KEY, address="10.0.0.77", now=T)
    fresh = create_code(db, "van-9", actor="staff:admin", now=T)
    assert redeem(db, _attempt(fresh.code), HUB_KEY, address="10.0.0.77", now=T)["outcome"]
    made = [e for e in entries(db) if e.action == "enrol.code.create"][-1]
    assert made.detail["throttles_lifted"] == 1
    db.close()


def test_a_throttled_address_is_told_how_long_to_wait(hub: HubProcess) -> None:
    made = _attempt(_code(hub))
    wrong = dict(made.__dict__, proof="f" * 64)
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5")) as client:
        for _ in range(FREE_FAILURES):
            client.post(f"{hub.url}/v1/enrol", json=wrong, timeout=5)
        answer = client.post(f"{hub.url}/v1/enrol", json=dict(made.__dict__), timeout=5)
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0 and "待って" in answer.json()["error"]


def test_another_spelling_of_an_enrolled_key_is_refused(site: Site) -> None:
    """Base64 lets the last character's spare bits vary: the same key spelt otherwise must
    not register as a second device's key."""
    db = connect(site.hub, role="hub")
    first = create_code(db, "van-1", actor="staff:admin", now=T)
    key = public_key_text(generate_key())
    redeem(db, _attempt(first.code, "dev-k1", key), HUB_KEY, address="10.0.0.31", now=T)
    last = key[-2]
    twin = key[:-2] + ALPHABET_B64[(ALPHABET_B64.index(last) ^ 1)] + key[-1]
    assert twin != key
    second = create_code(db, "van-2", actor="staff:admin", now=T)
    with pytest.raises(OdekakeError, match="公開鍵の形式"):
        redeem(db, _attempt(second.code, "dev-k2", twin), HUB_KEY, address="10.0.0.32", now=T)
    assert db.execute("SELECT count(*) FROM devices WHERE device_id = 'dev-k2'").fetchone()[0] == 0
    db.close()


def test_after_enrolment_sync_needs_no_hub_url(hub: HubProcess, tmp_path: Path) -> None:
    """The van keeps the hub it enrolled at: push and pull without --hub go there; a van
    that never met a hub is asked for --hub in Japanese."""
    van = make_van(tmp_path, "van-31", 2)
    runner = CliRunner()
    lost = runner.invoke(main, ["sync", "push", "--db", str(van)])
    assert lost.exit_code == 2 and "--hub で指定してください" in lost.output
    enrolled = runner.invoke(
        main, ["device", "enroll", "--db", str(van), "--code", qr_text(hub.url, _code(hub))]
    )
    assert enrolled.exit_code == 0, enrolled.output
    pushed = runner.invoke(main, ["sync", "push", "--db", str(van)])
    assert pushed.exit_code == 0, pushed.output
    db = connect(hub.db, role="hub")
    assert (
        db.execute("SELECT acked_seq FROM sync_acks WHERE device_id = 'van-31'").fetchone()[0] == 2
    )
    db.close()
    pulled = runner.invoke(main, ["sync", "pull", "--db", str(van)])
    assert pulled.exit_code == 0, pulled.output


def test_a_wrong_method_or_address_is_answered_in_japanese(hub: HubProcess) -> None:
    for method, path, status in (("GET", "/v1/enrol", 405), ("GET", "/v1/nowhere", 404)):
        answer = httpx.request(method, f"{hub.url}{path}", timeout=5)
        assert answer.status_code == status
        assert re.search(r"[ぁ-んァ-ン一-龥]", answer.json()["error"])
