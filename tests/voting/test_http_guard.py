"""The hook the sync hub uses to put its device-signature check in front of voting."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odekake.voting.client import Confirmed, Offline, VotingClient
from odekake.voting.http import make_app
from tests.voting.conftest import ELECTION_ID, make_hub

BODY = {
    "request_id": "req-1",
    "election_id": ELECTION_ID,
    "voter_no": "000101",
    "station_id": "ogawa-van",
    "clerk_id": "cl001",
    "device_id": "van-1",
    "reason": "work",
}


async def guard(request: Request) -> Response | None:
    device = request.headers.get("x-test-device")
    if device is None:
        return JSONResponse({"status": "error", "message": "署名がありません"}, status_code=401)
    request.state.device_id = device
    return None


async def test_guard_runs_first_and_the_body_must_name_the_signing_device(tmp_path: Path) -> None:
    app = make_app(make_hub(tmp_path / "hub.db"), guard=guard)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub"
    ) as http:
        assert (await http.post("/vote/checkin", json=BODY)).status_code == 401
        status = await http.get("/vote/status", params={"election_id": ELECTION_ID})
        assert status.status_code == 401
        wrong = await http.post("/vote/checkin", json=BODY, headers={"x-test-device": "van-2"})
        assert wrong.status_code == 403
        assert wrong.json()["code"] == "device_mismatch"
        ok = await http.post("/vote/checkin", json=BODY, headers={"x-test-device": "van-1"})
        assert ok.status_code == 200
        assert ok.json()["status"] == "confirmed"
        assert (await http.get("/vote/health")).json() == {"ok": True}


class HeaderAuth(httpx.Auth):
    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["x-test-device"] = "van-1"
        yield request


def test_client_signs_through_auth_and_trusts_only_its_own_answer() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.loads(request.content)
        rid = body["request_id"] if request.headers.get("x-test-device") else "someone-else"
        return httpx.Response(
            200,
            json={
                "request_id": rid,
                "status": "confirmed",
                "station_id": "ogawa-van",
                "station_name": "移動期日前投票所(小川)",
                "checked_at": "2026-11-23T10:00:00+09:00",
                "ballots": [{"kind": "senkyoku", "label": "選挙区"}],
            },
        )

    kwargs = {k: v for k, v in BODY.items() if k != "request_id"}
    signed = VotingClient("http://hub", auth=HeaderAuth(), transport=httpx.MockTransport(answer))
    assert isinstance(signed.checkin(**kwargs), Confirmed)
    assert seen[-1].headers["x-test-device"] == "van-1"
    # an answer for another request id is never taken as a confirmation
    unsigned = VotingClient("http://hub", transport=httpx.MockTransport(answer))
    assert isinstance(unsigned.checkin(**kwargs), Offline)

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="Internal Server Error")

    assert isinstance(
        VotingClient("http://hub", transport=httpx.MockTransport(broken)).checkin(**kwargs), Offline
    )
