"""Bundle format and hub ingest rules, in process (fast)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from odekake.storage.db import connect
from odekake.storage.records import verify
from odekake.sync.bundle import BundleRefused, export_range
from odekake.sync.ingest import hub_state, ingest_bytes, ingest_file
from odekake.sync.keys import (
    RevokedDevice,
    UnknownDevice,
    generate_key,
    key_path_for,
    load_private_key,
    revoke_device,
)

from .conftest import Site, rows


def bundle(van: Path, first: int, last: int, key_from: Path | None = None) -> bytes:
    db = connect(van)
    dev = str(db.execute("SELECT value FROM meta WHERE key='device_id'").fetchone()[0])
    key = load_private_key(key_path_for(key_from or van))
    buf = io.BytesIO()
    export_range(db, buf, device_id=dev, from_seq=first, to_seq=last, key=key)
    db.close()
    return buf.getvalue()


def test_bundle_roundtrip_stores_every_record_once(site: Site) -> None:
    van = site.van("van-a", 50)
    hub = connect(site.hub)
    res = ingest_bytes(hub, bundle(van, 1, 50))
    assert (res.stored, res.duplicates, res.acked_seq) == (50, 0, 50)
    assert rows(site.hub, "van-a") == rows(van, "van-a")
    assert verify(hub).ok


def test_same_bundle_twice_changes_nothing(site: Site, tmp_path: Path) -> None:
    van = site.van("van-a", 30)
    path = tmp_path / "b.jsonl"
    path.write_bytes(bundle(van, 1, 30))
    hub = connect(site.hub)
    ingest_file(hub, path)
    before = hub_state(hub)
    again = ingest_file(hub, path)
    assert (again.stored, again.duplicates, again.quarantined) == (0, 30, 0)
    assert hub_state(hub) == before


def test_out_of_order_bundles_are_held_then_released(site: Site) -> None:
    van = site.van("van-a", 30)
    hub = connect(site.hub)
    late = ingest_bytes(hub, bundle(van, 21, 30))
    assert (late.stored, late.held, late.acked_seq) == (0, 10, 0)
    assert late.gaps == [(1, 20)]
    assert "欠番: 1〜20" in late.describe()
    mid = ingest_bytes(hub, bundle(van, 11, 20))
    assert mid.gaps == [(1, 10)]
    first = ingest_bytes(hub, bundle(van, 1, 10))
    assert (first.stored, first.released, first.acked_seq, first.gaps) == (10, 20, 30, [])
    assert hub.execute("SELECT COUNT(*) FROM sync_held").fetchone()[0] == 0
    assert rows(site.hub, "van-a") == rows(van, "van-a")


def test_overlapping_batch_ignores_known_and_adds_new(site: Site) -> None:
    van = site.van("van-a", 20)
    hub = connect(site.hub)
    ingest_bytes(hub, bundle(van, 1, 12))
    res = ingest_bytes(hub, bundle(van, 5, 20))
    assert (res.duplicates, res.stored, res.acked_seq) == (8, 8, 20)
    assert rows(site.hub, "van-a") == rows(van, "van-a")


def _refused(site: Site, data: bytes, match: str) -> None:
    hub = connect(site.hub)
    before = hub_state(hub)
    with pytest.raises(BundleRefused, match=match) as info:
        ingest_bytes(hub, data)
    assert "1件も取り込んでいません" in str(info.value)
    assert hub_state(hub) == before


def test_one_changed_byte_is_refused(site: Site) -> None:
    van = site.van("van-a", 10)
    data = bundle(van, 1, 10)
    i = data.index("福祉".encode())
    tampered = data[:i] + "介護".encode() + data[i + len("福祉".encode()) :]
    _refused(site, tampered, r"1 番の記録.*内容が書き換えられています")


def test_changed_byte_in_header_field_is_refused_by_signature(site: Site) -> None:
    van = site.van("van-a", 10)
    lines = bundle(van, 1, 10).split(b"\n")
    head = json.loads(lines[0])
    head["created_at"] = "2020-01-01T00:00:00.000+00:00"
    lines[0] = json.dumps(head).encode()
    _refused(site, b"\n".join(lines), "SHA-256")


def test_removed_record_is_refused(site: Site) -> None:
    van = site.van("van-a", 10)
    lines = bundle(van, 1, 10).split(b"\n")
    del lines[5]  # the 5th record
    _refused(site, b"\n".join(lines), r"連番が途切れています.*5 番のはず")


def test_bundle_resigned_by_another_device_is_refused(site: Site) -> None:
    van_a = site.van("van-a", 10)
    van_b = site.van("van-b", 1)
    # van-a's records, signed with van-b's (enrolled, valid) key
    _refused(site, bundle(van_a, 1, 10, key_from=van_b), "署名が端末 van-a の鍵と一致しません")


def test_truncated_bundle_is_refused(site: Site) -> None:
    van = site.van("van-a", 10)
    lines = bundle(van, 1, 10).split(b"\n")
    _refused(site, b"\n".join(lines[:6]) + b"\n", "途中で切れています")
    _refused(site, b"\n".join(lines[:6]) + b"\n" + lines[6][:40], "7 行目が壊れています")


def test_chain_not_linking_to_hub_is_refused(site: Site, tmp_path: Path) -> None:
    """A van rebuilt from an old backup forks the chain: its new records are refused."""
    van = site.van("van-a", 10)
    hub = connect(site.hub)
    ingest_bytes(hub, bundle(van, 1, 10))
    fork = tmp_path / "fork"
    fork.mkdir()
    from .conftest import add_records, make_van

    forked = make_van(fork, "van-a", 8)
    db = connect(forked)
    add_records(db, 4)  # different records 9..12 (other ids and times)
    db.close()
    key_path_for(forked).write_bytes(key_path_for(van).read_bytes())
    key_path_for(forked).chmod(0o600)
    _refused(site, bundle(forked, 11, 12), "つながりません")


def test_same_id_different_hash_is_quarantined(site: Site) -> None:
    van = site.van("van-a", 10)
    hub = connect(site.hub)
    ingest_bytes(hub, bundle(van, 1, 10))
    before = rows(site.hub, "van-a")
    # The van's record 3 rewritten (same id, new payload) and its chain recomputed
    # and re-signed by the van itself: a valid bundle that contradicts the hub.
    from odekake.storage.canonical import canonical_json, sha256_hex
    from odekake.storage.records import record_hash

    db = connect(van)
    recs = list(
        db.execute(
            "SELECT id, seq, wall_time, hlc, type, payload, prev_hash FROM records "
            "WHERE seq BETWEEN 3 AND 4 ORDER BY seq"
        )
    )
    db.close()
    prev = recs[0][6]
    lines = []
    for rid, seq, wall, hlc, typ, _payload, _ in recs:
        payload = canonical_json({"people": 99, "stop_id": "x"})
        ph = sha256_hex(payload)
        h = record_hash(
            id=rid,
            device_id="van-a",
            seq=seq,
            wall_time=wall,
            hlc=hlc,
            type=typ,
            payload_hash=ph,
            prev_hash=prev,
            supersedes=None,
        )
        lines.append((rid, "van-a", seq, wall, hlc, typ, payload, ph, prev, h, None))
        prev = h
    from odekake.sync.bundle import write_bundle

    buf = io.BytesIO()
    write_bundle(
        buf, lines, device_id="van-a", from_seq=3, to_seq=4, key=load_private_key(key_path_for(van))
    )
    res = ingest_bytes(hub, buf.getvalue())
    assert (res.quarantined, res.stored, res.acked_seq) == (2, 0, 10)
    q = hub.execute("SELECT seq, record_id, reason FROM sync_quarantine ORDER BY seq").fetchall()
    assert [(s, r) for s, r, _ in q] == [(3, recs[0][0]), (4, recs[1][0])]
    assert q[0][2] == "同じIDで内容の異なる記録"
    assert rows(site.hub, "van-a") == before
    from odekake.sync.status import status_text

    report = status_text(hub)
    assert (
        "隔離 2 件" in report
        and f"端末 van-a の 3 番 (id {recs[0][0]}): 同じIDで内容の異なる記録" in report
    )
    again = ingest_bytes(hub, buf.getvalue())
    assert again.quarantined == 0
    assert hub.execute("SELECT COUNT(*) FROM sync_quarantine").fetchone()[0] == 2


def test_revoked_and_unknown_devices_are_refused(site: Site, tmp_path: Path) -> None:
    van = site.van("van-a", 5)
    data = bundle(van, 1, 5)
    hub = connect(site.hub)
    revoke_device(hub, "van-a")
    with pytest.raises(RevokedDevice, match="失効"):
        ingest_bytes(hub, data)
    stranger = tmp_path / "s"
    stranger.mkdir()
    from odekake.sync.keys import save_private_key

    from .conftest import make_van

    other = make_van(stranger, "van-x", 3)
    save_private_key(generate_key(), key_path_for(other))
    with pytest.raises(UnknownDevice, match="未登録の端末です: van-x"):
        ingest_bytes(hub, bundle(other, 1, 3))
    assert hub.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0


def _chain(device: str, ids: list[str]) -> list[tuple[object, ...]]:
    """Bundle rows of a valid chain whose record ids are chosen by the test."""
    from odekake.storage.canonical import canonical_json, sha256_hex
    from odekake.storage.records import GENESIS, record_hash

    out: list[tuple[object, ...]] = []
    prev = GENESIS
    for seq, rid in enumerate(ids, start=1):
        payload = canonical_json({"people": 1, "stop_id": "s", "n": seq})
        ph = sha256_hex(payload)
        wall, hlc = f"2026-05-01T00:00:{seq:02d}.000+00:00", f"{1777593600000 + seq:013d}-00000"
        h = record_hash(
            id=rid, device_id=device, seq=seq, wall_time=wall, hlc=hlc,
            type="consultation.hold", payload_hash=ph, prev_hash=prev, supersedes=None,
        )  # fmt: skip
        out.append((rid, device, seq, wall, hlc, "consultation.hold", payload, ph, prev, h, None))
        prev = h
    return out


def test_id_already_used_elsewhere_is_quarantined_and_the_rest_held(site: Site) -> None:
    from odekake.sync.bundle import write_bundle

    van_a = site.van("van-a", 5)
    hub = connect(site.hub)
    ingest_bytes(hub, bundle(van_a, 1, 5))
    taken = rows(site.hub, "van-a")[2][1]  # id of van-a's record 3
    van_b = site.van("van-b", 0)
    ids = ["b-1", str(taken), "b-3", "b-4"]
    buf = io.BytesIO()
    key = load_private_key(key_path_for(van_b))
    write_bundle(buf, _chain("van-b", ids), device_id="van-b", from_seq=1, to_seq=4, key=key)
    res = ingest_bytes(hub, buf.getvalue())
    assert (res.stored, res.quarantined, res.held, res.acked_seq) == (1, 1, 2, 1)
    assert res.gaps == [(2, 2)]
    q = hub.execute("SELECT seq, record_id, reason FROM sync_quarantine").fetchall()
    assert q == [(2, taken, "同じIDの記録が別の連番で登録済み")]
    assert rows(site.hub, "van-a") == rows(van_a, "van-a")


def test_the_same_id_twice_inside_one_bundle_is_caught(site: Site) -> None:
    from odekake.sync.bundle import write_bundle

    van_b = site.van("van-b", 0)
    hub = connect(site.hub)
    buf = io.BytesIO()
    key = load_private_key(key_path_for(van_b))
    chain = _chain("van-b", ["b-1", "b-2", "b-1"])
    write_bundle(buf, chain, device_id="van-b", from_seq=1, to_seq=3, key=key)
    res = ingest_bytes(hub, buf.getvalue())
    assert (res.stored, res.quarantined, res.acked_seq) == (2, 1, 2)
