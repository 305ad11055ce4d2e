"""Property: any interleaving of retries, duplicates and reorders of batches gives
the same hub state as delivering every record once, in order."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odekake.storage.db import memory_db
from odekake.sync.bundle import BundleRefused, export_range
from odekake.sync.ingest import hub_state, ingest_bytes
from odekake.sync.keys import generate_key, public_key_text, register_device

from .conftest import add_records

N = 40
KEY = generate_key()


def _van_bundles() -> dict[tuple[int, int], bytes]:
    """Every batch [a, b] of one 40-record van, pre-signed (built once)."""
    van = memory_db("van", device_id="van-p")
    add_records(van, N)
    out: dict[tuple[int, int], bytes] = {}
    for a in range(1, N + 1):
        for b in range(a, min(N, a + 12) + 1):
            buf = io.BytesIO()
            export_range(van, buf, device_id="van-p", from_seq=a, to_seq=b, key=KEY)
            out[(a, b)] = buf.getvalue()
    return out


BUNDLES = _van_bundles()


def _hub() -> object:
    hub = memory_db("hub")
    register_device(hub, "van-p", public_key_text(KEY))
    return hub


def _reference() -> dict[str, object]:
    hub = _hub()
    ingest_bytes(hub, BUNDLES[(1, 12)])  # type: ignore[arg-type]
    ingest_bytes(hub, BUNDLES[(13, 24)])  # type: ignore[arg-type]
    ingest_bytes(hub, BUNDLES[(25, 36)])  # type: ignore[arg-type]
    ingest_bytes(hub, BUNDLES[(37, 40)])  # type: ignore[arg-type]
    return hub_state(hub)  # type: ignore[arg-type]


REFERENCE = _reference()


@st.composite
def deliveries(draw: st.DrawFn) -> list[tuple[int, int]]:
    """A covering set of batches (random cut points), with duplicates and re-sends,
    in any order; plus arbitrary extra batches (retries of overlapping ranges)."""
    cuts = sorted(draw(st.sets(st.integers(1, N - 1), max_size=8)))
    bounds = [0, *cuts, N]
    # batches longer than 13 records are split so that every batch is pre-built
    covering: list[tuple[int, int]] = []
    for a, b in [(bounds[i] + 1, bounds[i + 1]) for i in range(len(bounds) - 1)]:
        while a <= b:
            covering.append((a, min(b, a + 12)))
            a = min(b, a + 12) + 1
    extra = draw(
        st.lists(
            st.tuples(st.integers(1, N), st.integers(0, 12)).map(
                lambda t: (t[0], min(N, t[0] + t[1]))
            ),
            max_size=6,
        )
    )
    repeats = draw(st.lists(st.sampled_from(covering), max_size=4))
    return draw(st.permutations(covering + extra + repeats))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=deliveries())
def test_any_interleaving_gives_the_same_hub_state(order: list[tuple[int, int]]) -> None:
    hub = _hub()
    for batch in order:
        ingest_bytes(hub, BUNDLES[batch])  # type: ignore[arg-type]
    assert hub_state(hub) == REFERENCE  # type: ignore[arg-type]


def test_reference_state_is_the_whole_chain() -> None:
    records = REFERENCE["records"]
    assert [r[1] for r in records] == list(range(1, N + 1))  # type: ignore[union-attr]
    assert REFERENCE["held"] == [] and REFERENCE["quarantine"] == []


@settings(max_examples=80, deadline=None)
# (the last byte is the trailer's newline: without it the bundle is still complete)
@given(cut=st.integers(0, len(BUNDLES[(1, 12)]) - 2))
def test_a_body_cut_at_any_byte_stores_nothing_and_the_retry_stores_all(cut: int) -> None:
    """A connection dropped at any byte delivers a prefix of the batch: refused whole."""
    hub = _hub()
    data = BUNDLES[(1, 12)]
    with pytest.raises(BundleRefused):
        ingest_bytes(hub, data[:cut])  # type: ignore[arg-type]
    assert hub.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0  # type: ignore[attr-defined]
    assert hub.execute("SELECT COUNT(*) FROM sync_held").fetchone()[0] == 0  # type: ignore[attr-defined]
    assert ingest_bytes(hub, data).acked_seq == 12  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(), min_size=8, max_size=8),
    seq=st.integers(1, 10**12),
    supersedes=st.none() | st.text(),
)
def test_fast_chain_header_equals_the_canonical_json_of_records(
    texts: list[str], seq: int, supersedes: str | None
) -> None:
    from odekake.storage.canonical import canonical_json
    from odekake.sync.bundle import BundleRecord, _header_text

    rid, dev, wall, hlc, typ, ph, prev, _ = texts
    rec = BundleRecord(rid, dev, seq, wall, hlc, typ, None, ph, prev, "", supersedes, "")
    assert _header_text(rec) == canonical_json(
        [rid, dev, seq, wall, hlc, typ, ph, prev, supersedes or ""]
    )
