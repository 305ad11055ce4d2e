"""Fuzz the hub's HTTP API from its own OpenAPI description (schemathesis).

A test-only ASGI wrapper signs every generated request as an enrolled van (the
whole wire signature: device, timestamp, nonce, body hash), so the
fuzzer reaches the handlers behind the device check (bundle parsing, check-ins)
instead of stopping at 401. Every answer must be a documented, clear error or
success: never a server error. Afterwards nothing may have changed but the
refusals that the voting rules record on purpose, and the database is whole.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from odekake.demo import build_demo
from odekake.storage import records as rec
from odekake.storage.db import connect
from odekake.sync.hub import make_app
from odekake.sync.keys import key_path_for, load_private_key
from odekake.sync.wire import signed_headers

_STATE: dict[str, Any] = {}


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """Bundles are JSON lines; send whatever text the fuzzer made as UTF-8 bytes."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


def _signing(app: Any, device: str, key: Any) -> Any:
    """Wrap an ASGI app: read the body, add the device signature headers."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        target = scope["path"] + (
            "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
        )
        stamp = str(int(time.time()))
        signed = signed_headers(key, device, scope["method"], target, body, timestamp=stamp)
        names = {k.lower().encode() for k in signed}
        headers = [h for h in scope["headers"] if h[0].lower() not in names]
        headers += [(k.lower().encode(), v.encode()) for k, v in signed.items()]
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app({**scope, "headers": headers}, replay, send)

    return wrapped


@pytest.fixture(scope="module")
def hub_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    d = tmp_path_factory.mktemp("fuzzhub")
    build_demo(d, seed=9)
    hub_path = d / "hub.db"
    db = connect(hub_path)
    before = db.execute("SELECT max(rowid) FROM records").fetchone()[0]
    db.close()
    key = load_private_key(key_path_for(d / "van.db"))
    app = _signing(make_app(hub_path), "van-1", key)
    codes: list[int] = _STATE.setdefault("codes", [])
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    # After the fuzzing: the signed requests reached the handlers (not only 401),
    # and nothing changed but the refusals the voting rules record on purpose.
    assert codes and set(codes) - {401}, codes
    assert 422 in codes or 400 in codes, codes
    db = connect(hub_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert rec.verify(db).ok
    new = {r[0] for r in db.execute("SELECT DISTINCT type FROM records WHERE rowid > ?", [before])}
    assert new <= {"vote.refused"}, new
    db.close()


schema = schemathesis.pytest.from_fixture("hub_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_hub_api_never_fails_on_bad_input(case: Any) -> None:
    response = case.call_and_validate(checks=[not_a_server_error])
    _STATE["codes"].append(response.status_code)
