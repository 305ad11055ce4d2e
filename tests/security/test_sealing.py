"""Personal data is sealed to city hall's key: the van cannot read it back."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from odekake.errors import OdekakeError
from odekake.storage import records as rec
from odekake.storage.db import connect, set_meta, write
from odekake.storage.sealing import (
    generate_keypair,
    load_private_key,
    open_payload,
    save_private_key,
    seal_payload,
    unseal,
)

RESIDENT = {
    "name": "封印 テスト子",
    "address": "いわき市川前町封印1-2-3",
    "birth_date": "1941-02-03",
}


def test_seal_round_trip_and_wrong_key() -> None:
    private, public = generate_keypair()
    sealed = seal_payload({"stop_id": "s", "people": 1, "requester": RESIDENT}, public)
    assert "requester" not in sealed and sealed["stop_id"] == "s" and sealed["people"] == 1
    assert "封印" not in str(sealed)
    assert open_payload(sealed, private)["requester"] == RESIDENT
    other, _ = generate_keypair()
    with pytest.raises(OdekakeError, match="復号できません"):
        unseal(sealed["sealed"], other)


def test_payload_without_personal_keys_is_unchanged() -> None:
    _, public = generate_keypair()
    p = {"stop_id": "s", "people": 3}
    assert seal_payload(p, public) == p


def test_deterministic_with_rng_for_the_demo() -> None:
    _, public = generate_keypair(random.Random(1))
    a = seal_payload({"requester": RESIDENT}, public, random.Random(5))
    b = seal_payload({"requester": RESIDENT}, public, random.Random(5))
    assert a == b


def test_stolen_van_disk_reveals_no_name_address_or_birth_date(tmp_path: Path) -> None:
    private, public = generate_keypair()
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="van-s")
    with write(db):
        set_meta(db, rec.SEAL_KEY_META, public)
    written = rec.append(
        db, "certificate.issue", {"stop_id": "s", "people": 1, "amount": 300, "requester": RESIDENT}
    )
    db.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("van.db"))
    for plain in RESIDENT.values():
        assert plain.encode("utf-8") not in raw
    assert b"300" in raw  # the counts reports need stay readable
    db = connect(path)
    stored = rec.get(db, written.id)
    assert stored.payload is not None and stored.payload["amount"] == 300
    assert open_payload(stored.payload, private)["requester"] == RESIDENT
    assert rec.verify(db).ok


def test_private_key_file_mode_and_passphrase(tmp_path: Path) -> None:
    private, _ = generate_keypair()
    key = tmp_path / "hub.key"
    save_private_key(private, key, "合言葉")
    assert key.stat().st_mode & 0o777 == 0o600
    loaded = load_private_key(key, "合言葉")
    assert loaded.public_key().public_bytes_raw() == private.public_key().public_bytes_raw()
    with pytest.raises(OdekakeError, match="パスフレーズ"):
        load_private_key(key, "ちがう")
    with pytest.raises(OdekakeError, match="ありません"):
        load_private_key(tmp_path / "none.key")


def test_demo_van_is_sealed_and_hub_key_opens_it(demo_dir: Path) -> None:
    van = connect(demo_dir / "van.db")
    cert = next(rec.iter_records(van, types=["certificate.issue"]))
    assert cert.payload is not None and "requester" not in cert.payload
    private = load_private_key(demo_dir / "hub-seal.key")
    opened = open_payload(cert.payload, private)
    assert opened["requester"]["address"].startswith("いわき市")


def test_names_by_suffix_are_sealed_but_place_names_are_not() -> None:
    from odekake.storage.sealing import is_personal_key

    assert is_personal_key("subject_name") and is_personal_key("proxy_address")
    assert is_personal_key("requester") and is_personal_key("birth_date")
    assert not is_personal_key("service_name") and not is_personal_key("site_name")
    assert not is_personal_key("amount") and not is_personal_key("receipt_no")
