"""A month on the road under faults: a deterministic simulation of hub and vans.

Run by hand (``make soak`` is 3 vans × 30 working days)::

    .venv/bin/python benchmarks/soak.py --seed 1 --vans 3 --days 30

A real hub process (``odekake hub serve``, signed HTTP) serves N vans driven through
the core APIs (records, sync push/pull/bundles, retention purge, the voting
check-in), each van behind its own misbehaving loopback proxy
(``benchmarks/soak_proxy.py``). Every operation and every fault is drawn from the
seed: kill -9 of a van's writer mid-record, of the hub mid-ingest and of a backup
writer mid-backup; network cuts, delays, answers dropped after the hub committed,
duplicated and reordered requests; clock skew; a full disk; a truncated or edited
backup; a hub key rotation with one van re-pinned a day later; a hub restore from
its last backup (it loses its tail; the vans re-send it).

Invariants are checked as it runs and at the end, each a named check with its
count. The last line is::

    soak: N records, D days, V vans, F faults, 0 lost, 0 doubled, 0 double votes, 0 unsafe purges

Exit status 1 when an invariant broke, printing the seed and the first history that
broke it (replay with the same ``--seed`` and sizes). Nothing is left behind: the
work directory is removed and the hub stopped, even on failure.

The voting station and the backup mark are reached through the small adapter
functions under "Adapters" below: they drive today's core APIs and are the one
place to switch when those APIs change.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlite_utils

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak_proxy import FaultProxy

from odekake.access import clerk_keys
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.errors import OdekakeError
from odekake.masterdata import master
from odekake.masterdata.catalog import SERVICE_RECORD_TYPES
from odekake.operations import retention
from odekake.operations.backup import generations, restore, take_backup, verify_file
from odekake.reports.counting import Period, count_period
from odekake.storage import records as rec
from odekake.storage.db import connect, set_meta, write
from odekake.storage.records import SEAL_KEY_META
from odekake.storage.sealing import generate_keypair
from odekake.sync import client as sync_client
from odekake.sync.auth import DeviceAuth
from odekake.sync.bundle import BundleRefused
from odekake.sync.enrolment import enroll
from odekake.sync.ingest import ingest_file
from odekake.sync.keys import key_path_for, load_private_key, public_key_text
from odekake.sync.wire import (
    acked_by_evidence,
    ensure_hub_key,
    pin_hub_key,
    pinned_hub_key,
    rotate_hub_key,
)
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import AlreadyVoted, Confirmed, Refused, Released, VotingClient
from odekake.voting.station import Phase, StationFlow

ELECTION_ID = "soak-election"
STATION = "mobile"
FIXED_STATION = "honcho"
COUNTER_DEVICE = "counter-1"
CLERK, CLERK_PIN = "cl001", "345678"

FAULT_KINDS = (
    "van_kill_mid_record",
    "hub_kill_mid_ingest",
    "backup_kill_mid_backup",
    "net_cut",
    "net_delay",
    "net_drop_after_commit",
    "net_duplicate",
    "net_reorder",
    "clock_skew",
    "disk_full",
    "backup_truncated",
    "backup_edited",
    "hub_key_rotation",
)
INVARIANTS = (
    "records_exactly_once",
    "chains_verify",
    "no_unsafe_purge",
    "one_ballot_per_voter",
    "second_attempt_is_incident",
    "nobody_blocked_without_ballot",
    "report_totals_match_records",
    "answers_acted_on_verified",
    "refusals_named",
)


class SoakFailure(Exception):
    """An invariant broke (the first history that broke it)."""


# --- adapters: the voting station and backups as today's core offers them --------


@dataclass
class VoteOutcome:
    """What the station did for one voter: ``handed``, ``provisional``, ``blocked``,
    ``withdrawn``, ``unknown`` (an answer the van could not verify), ``killed`` (the van
    died recording 交付可: no ballot) or ``refused``."""

    kind: str
    detail: str = ""


def station_vote(
    van: Van,
    voter_no: str,
    election: el.Election,
    *,
    kill: str | None,
    withdraw: bool,
    on_handed: Callable[[str], None],
) -> VoteOutcome:
    """One voter at a van's station, through the station's state machine (StationFlow).

    The clerk is logged in on the van (their PIN opens their key: the sealed roll
    reads, vote records are signed). The flow writes the check-in ahead
    (``vote.pending``), asks the hub and records its 交付可 at once
    (``vote.checked_in``); the ballots are handed out (``on_handed``) only once the
    clerk's 交付した is recorded (``flow.handed()``). With no answer the clerk takes a
    仮投票. ``withdraw``: 交付取りやめ from 交付可 instead of handing, released at the
    hub (outcome ``withdrawn``, detail ``released`` when the hub released it live).

    ``kill`` kills the van's writer (kill -9) mid-record: ``answer`` while it records
    the hub's 交付可 (nothing was shown, no ballot handed: the retry resends the
    written-ahead request and gets the same 交付可); ``handed`` while it records the
    clerk's 交付した (the ballot is already in the voter's hand: from then on the van
    must block the voter through its 交付可 record). Either way the outcome's detail is
    ``killed`` and the clerk looks the voter up again after the restart.
    """
    db = connect(van.path)
    try:
        if not clerk_keys.unlock(db, CLERK, CLERK_PIN):  # the clerk's login on this van
            return VoteOutcome("refused", "clerk_locked")
        flow = StationFlow(
            db,
            VotingClient(van.proxy.url, timeout=5.0, auth=van.auth(db)),
            election,
            STATION,
            CLERK,
        )
        if flow.find_ticket(voter_no) is None:
            return VoteOutcome("refused", "not on the van's roll")
        req = flow.start("work")
        if req is None:
            if flow.phase is Phase.BLOCKED:
                return VoteOutcome("blocked", "local")
            return VoteOutcome("refused", flow.message)
        answer = flow.send(req)
        if isinstance(answer, Confirmed) and kill == "answer":

            def confirm(conn: sqlite_utils.Database) -> None:
                flow.van_db = conn  # the forked writer's own connection
                flow.answered(req.request_id, answer)

            if not van.killed_write(confirm):
                return VoteOutcome("killed", "killed")  # 交付可 never shown: no ballot
            # The kill landed after the commit: 交付可 is on record; the clerk had it.
            flow.confirmed, flow.phase = answer, Phase.ISSUABLE
        elif not flow.answered(req.request_id, answer):
            return VoteOutcome("refused", "stale answer")
        if flow.phase is Phase.ISSUABLE:
            if withdraw:
                release = flow.withdraw("本人が受け取りを辞退")
                result = flow.send_release(release)
                flow.released(result)
                return VoteOutcome("withdrawn", "released" if isinstance(result, Released) else "")
            if kill == "handed":
                on_handed("ballot")  # handed, then the clerk presses 交付した: killed

                def hand(conn: sqlite_utils.Database) -> None:
                    flow.van_db = conn
                    flow.handed()

                if not van.killed_write(hand):
                    return VoteOutcome("handed", "killed")
                return VoteOutcome("handed")
            flow.handed()
            on_handed("ballot")
            return VoteOutcome("handed")
        if flow.phase is Phase.BLOCKED:
            return VoteOutcome("blocked", "hub")
        if flow.phase is Phase.UNKNOWN:  # an answer the van cannot verify: no ballot
            return VoteOutcome("unknown", flow.cause)
        if flow.phase is Phase.OFFLINE:
            cause = flow.cause
            flow.provisional("work")
            on_handed("provisional")
            return VoteOutcome("provisional", cause)
        if isinstance(answer, Refused):
            return VoteOutcome("refused", answer.code)
        return VoteOutcome("refused", flow.message)
    finally:
        db.close()


def purge_mark_is_trusted(hub_path: Path, device: str) -> int:
    """The highest sequence of ``device`` held by a backup that verifies right now.

    Independent of the hub's own backup mark: the file must still exist, match the
    SHA-256 recorded when it was taken and pass the backup check.
    """
    db = sqlite_utils.Database(f"file:{hub_path}?mode=ro", use_counts_table=False)
    best = 0
    try:
        rows = db.execute("SELECT file, sha256, marks FROM hub_backups").fetchall()
    finally:
        db.close()
    for file, digest, marks in rows:
        path = Path(file)
        if not path.is_file() or _sha256(path) != digest or not verify_file(path).ok:
            continue
        best = max(best, int(json.loads(marks).get(device, 0)))
    return best


def double_vote(handouts: list[str]) -> bool:
    """Whether a voter's handouts (``station:how:dayN``) count as voting twice.

    Two ballots handed out on the hub's confirmation are a double vote, and so is a
    second handout at a station that had itself handed the voter one (it knew). A
    仮投票 taken offline at another station is the law's provisional path: not a
    double vote, but it must become an incident at the hub.
    """
    confirmed = [h for h in handouts if h.split(":")[1] == "ballot"]
    stations = [h.split(":")[0] for h in handouts]
    return len(confirmed) > 1 or len(stations) != len(set(stations))


# --- the world ---------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Ledger:
    """What really happened, kept by the simulation (the truth the checks use)."""

    records: dict[str, dict[str, tuple[int, str, str | None]]] = field(default_factory=dict)
    kinds: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id → type, supersedes
    ballots: dict[str, list[str]] = field(default_factory=dict)  # voter → where/how
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (voter, where)
    histories: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.histories.append(text)


class Hub:
    """The real ``odekake hub serve`` process over ``path``."""

    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "odekake.cli", "hub", "serve", "--db", str(self.path),
                 "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        # One plain-HTTP client for the polling (a default client loads the CA store).
        with httpx.Client(verify=False, timeout=0.5) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"hub exited: {self.log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if probe.get(f"http://127.0.0.1:{self.port}/health").is_success:
                        self.starts += 1
                        return
                time.sleep(0.05)
        raise RuntimeError("hub did not become ready")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Van:
    """One van: its database, its key, its proxy to the hub and its day's faults."""

    def __init__(self, path: Path, device: str, proxy: FaultProxy, rng: random.Random) -> None:
        self.path, self.device, self.proxy, self.rng = path, device, proxy, rng
        self.skew = timedelta(0)
        self.kill_at: int | None = None  # the n-th record of the day is killed mid-write
        self.disk_full_at: int | None = None
        self.writes_today = 0
        self.seen_seq = 0
        self.pending_pin: str | None = None

    def auth(self, db: sqlite_utils.Database) -> DeviceAuth:
        return DeviceAuth(
            self.device, load_private_key(key_path_for(self.path)), pinned_hub_key(db)
        )

    def killed_write(self, action: Callable[[sqlite_utils.Database], Any]) -> bool:
        """Run ``action`` in a child process that is killed (SIGKILL) mid-write.

        Returns True when the write committed before the kill landed.
        """
        before = self.top()
        pid = os.fork()
        if pid == 0:  # the child: its own connection, killed inside the transaction
            try:
                db = connect(self.path)
                steps = [0]

                def tick() -> int:
                    steps[0] += 1
                    if steps[0] >= 2:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return 0

                db.conn.set_progress_handler(tick, 5)
                action(db)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            raise SoakFailure(f"{self.device}: the writer was not killed (status {status})")
        return self.top() > before

    def top(self) -> int:
        db = connect(self.path)
        try:
            return int(
                db.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM records WHERE device_id = ?", [self.device]
                ).fetchone()[0]
            )
        finally:
            db.close()


class Soak:
    """The simulation: world, day loop, faults and invariants."""

    def __init__(
        self,
        root: Path,
        seed: int,
        vans: int,
        days: int,
        voters: int,
        faults: tuple[str, ...] = FAULT_KINDS,
    ) -> None:
        self.root, self.seed, self.n_vans, self.n_days = root, seed, vans, days
        self.enabled = faults
        self.n_voters = voters
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        self.ops: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.checks: Counter[str] = Counter()
        self.broken: Counter[str] = Counter()
        self.hub_path = root / "hub.db"
        self.backups = root / "backups"
        self.hub = Hub(self.hub_path, _free_port(), root / "hub.log")
        self.vans: list[Van] = []
        self.proxies: list[FaultProxy] = []
        self.election: el.Election | None = None
        self.today = el.jst_now().date()
        self.start_day = date(2026, 10, 1)
        self.schedule: dict[tuple[int, int], list[str]] = {}
        self.hub_schedule: dict[int, list[str]] = {}
        self.second_tries: dict[int, list[tuple[int, str]]] = {}
        self.lost = self.doubled = self.double_votes = self.unsafe = 0
        self.events: list[str] = []  # what the coordinator did (context for a failure)
        self.counter_key: Any = None  # city hall's fixed station's signing key

    # -- checks ----------------------------------------------------------------------

    def check(self, name: str, ok: bool, history: str) -> None:
        self.checks[name] += 1
        if not ok:
            self.broken[name] += 1
            self.ledger.note(f"[{name}] {history}")

    # -- set-up ----------------------------------------------------------------------

    def setup(self) -> None:
        hub = connect(self.hub_path, role="hub", create=True)
        master.seed_districts(hub)
        master.add_operator(hub, CLERK, "高橋 美咲", ["clerk"], CLERK_PIN, kdf=TEST_ONLY_CHEAP_KDF)
        master.add_operator(
            hub, "op001", "山田 花子", ["operator"], "123456", kdf=TEST_ONLY_CHEAP_KDF
        )
        _private, public = generate_keypair()
        with write(hub):
            set_meta(hub, SEAL_KEY_META, public)
            hub.execute("INSERT INTO settings(key, value) VALUES (?, ?)", [SEAL_KEY_META, public])
        devices = [f"van-{i + 1}" for i in range(self.n_vans)]
        self.election = el.election_from_dict(self._election(devices))
        el.save_election(hub, self.election)
        roll = self.root / "roll.csv"
        rows = [
            f"{n:06d},住民 {n},ジュウミン {n},1950-01-01,{'男女'[n % 2]},いわき市小川町{n},小川第1"
            for n in range(1, self.n_voters + 1)
        ]
        roll.write_text(
            "選挙人番号,氏名,フリガナ,生年月日,性別,住所,投票区\n" + "\n".join(rows) + "\n",
            encoding="utf-8",
        )
        rl.import_roll(hub, ELECTION_ID, roll)
        hub.close()
        for device in devices:
            path = self.root / f"{device}.db"
            connect(path, role="van", create=True, device_id=device).close()
            enroll(path, self.hub_path, van_id=device)
        self.hub.start()
        for i, device in enumerate(devices):
            proxy = FaultProxy(self.hub.port, on_kill=self.hub.kill)
            self.proxies.append(proxy)
            van = Van(self.root / f"{device}.db", device, proxy, random.Random(f"{self.seed}/{i}"))
            self.vans.append(van)
            sync_client.pull(van.path, proxy.url, retries=0)
        self._draw_schedule()

    def _election(self, devices: list[str]) -> dict[str, Any]:
        t = self.today
        return {
            "id": ELECTION_ID,
            "name": "いわき市長選挙(模擬)",
            "election_day": (t + timedelta(days=5)).isoformat(),
            "early_from": (t - timedelta(days=1)).isoformat(),
            "early_to": (t + timedelta(days=4)).isoformat(),
            "ballots": [{"kind": "mayor", "label": "市長", "opens_on": t.isoformat()}],
            "stations": [
                {"id": STATION, "name": "移動期日前投票所", "kind": "mobile",
                 "date": t.isoformat(), "opens": "00:00", "closes": "23:59",
                 "district": "ogawa", "precincts": ["小川第1"], "vans": devices},
                {"id": FIXED_STATION, "name": "本庁舎", "kind": "fixed", "opens": "00:00",
                 "closes": "23:59", "vans": [COUNTER_DEVICE]},
            ],
        }  # fmt: skip

    def _draw_schedule(self) -> None:
        """Every fault's day and van, from the seed; each kind at least once."""
        rng, days, vans = self.rng, self.n_days, self.n_vans
        per_van = [
            "van_kill_mid_record",
            "hub_kill_mid_ingest",
            "net_cut",
            "net_delay",
            "net_drop_after_commit",
            "net_duplicate",
            "net_reorder",
            "clock_skew",
            "disk_full",
        ]
        rate = {"van_kill_mid_record": 0.25, "hub_kill_mid_ingest": 0.05, "net_cut": 0.3,
                "net_delay": 0.3, "net_drop_after_commit": 0.3, "net_duplicate": 0.2,
                "net_reorder": 0.2, "clock_skew": 0.1, "disk_full": 0.05}  # fmt: skip
        for kind in per_van:
            if kind not in self.enabled:
                continue
            slots = {(rng.randrange(days), rng.randrange(vans))}
            for d in range(days):
                for v in range(vans):
                    if rng.random() < rate[kind]:
                        slots.add((d, v))
            for slot in sorted(slots):
                self.schedule.setdefault(slot, []).append(kind)
        for kind, n in (("backup_kill_mid_backup", 1 + days // 15), ("backup_truncated", 1),
                        ("backup_edited", 1), ("hub_key_rotation", 1)):  # fmt: skip
            for _ in range(n if kind in self.enabled else 0):
                self.hub_schedule.setdefault(rng.randrange(days), []).append(kind)
        # The early-voting days: the last third of the run (at least one day).
        first = max(0, days - max(1, days // 3))
        self.vote_days = list(range(first, days))
        self.restore_day = max(0, first - 1) if days > 2 else days - 1

    # -- one day -----------------------------------------------------------------------

    def run(self) -> None:
        for day in range(self.n_days):
            when = self.start_day + timedelta(days=day)
            if day == self.restore_day and day not in self.vote_days:
                self.hub_restore(day)
            for kind in self.hub_schedule.get(day, []):
                if kind == "hub_key_rotation":
                    self.rotate_key(day)
            for v, van in enumerate(self.vans):
                self.van_day(day, v, van, when)
            self.hub_evening(day)
            self.ops["days"] += 1
        self.final_sync()

    def van_day(self, day: int, v: int, van: Van, when: date) -> None:
        faults = self.schedule.get((day, v), [])
        rng = van.rng
        van.skew = timedelta(0)
        van.writes_today = 0
        van.kill_at = rng.randint(1, 6) if "van_kill_mid_record" in faults else None
        van.disk_full_at = rng.randint(1, 6) if "disk_full" in faults else None
        if "clock_skew" in faults:
            van.skew = timedelta(minutes=rng.choice([-1, 1]) * rng.randint(3, 30))
            self.faults["clock_skew"] += 1
        if van.pending_pin is not None and van.pending_pin[0] <= day:
            self.repin(van)
        script: list[str] = []
        for kind, mode in (("net_delay", "delay"), ("net_drop_after_commit", "drop"),
                           ("net_duplicate", "duplicate"), ("net_reorder", "reorder"),
                           ("hub_kill_mid_ingest", "kill_hub")):  # fmt: skip
            if kind in faults:
                script.insert(rng.randrange(len(script) + 1), mode)
        van.proxy.script = list(script)
        cut_from = rng.randrange(3) if "net_cut" in faults else None
        self.sync(van, pull=True)
        # Stops: open, services at the district's rates, voids, close; then day close.
        start = datetime.combine(when, datetime.min.time(), tzinfo=UTC) + timedelta(hours=0)
        t = start + van.skew
        for stop_no in range(rng.randint(1, 2)):
            if cut_from is not None and stop_no >= cut_from:
                van.proxy.offline = True
            stop_id = f"{van.device}-{when.isoformat()}-{stop_no}"
            t = self.write(van, "stop.open", {"stop_id": stop_id, "activity": "regular",
                                              "date": when.isoformat()}, t)  # fmt: skip
            issued: list[str] = []
            for _ in range(rng.randint(1, 5)):
                kind = rng.choice(["certificate.issue", "certificate.issue", "consultation.hold",
                                   "disaster.apply", "frailty.check"])  # fmt: skip
                payload = self._payload(kind, stop_id, rng)
                t = self.write(van, kind, payload, t)
                if kind == "certificate.issue" and self._last_id:
                    issued.append(self._last_id)
            if issued and rng.random() < 0.3:
                t = self.write(
                    van,
                    "record.void",
                    {"stop_id": stop_id, "reason": "入力誤り", "target": issued[0]},
                    t,
                    supersedes=issued[0],
                )
                self.ops["voids"] += 1
            t = self.write(van, "stop.close", {"stop_id": stop_id}, t)
        if day in self.vote_days:
            self.voting(day, v, van)
        t = self.write(van, "day.close", {"date": when.isoformat()}, t)
        van.proxy.offline = False
        if "net_cut" in faults:
            self.faults["net_cut"] += 1
        if rng.random() < 0.2 and "kill_hub" not in van.proxy.script:
            self.usb(van, day)
        else:
            self.sync(van)
        for mode, kind in (("delay", "net_delay"), ("drop", "net_drop_after_commit"),
                           ("duplicate", "net_duplicate"), ("reorder", "net_reorder"),
                           ("kill_hub", "hub_kill_mid_ingest")):  # fmt: skip
            if mode in script and mode not in van.proxy.script:
                self.faults[kind] += 1
        if not self.hub.alive:
            self.hub.start()
        self.purge(van, day)

    _last_id: str | None = None

    def _payload(self, kind: str, stop_id: str, rng: random.Random) -> dict[str, Any]:
        person = {"name": f"住民 {rng.randrange(10_000)}", "birth_date": "1948-03-01",
                  "address": f"いわき市小川町{rng.randint(1, 40)}番地"}  # fmt: skip
        if kind == "certificate.issue":
            copies = rng.choice([1, 1, 2])
            return {"stop_id": stop_id, "people": 1, "service_code": "cert.juminhyo",
                    "service_name": "住民票の写し", "copies": copies, "fee_each": 300,
                    "amount": 300 * copies, "payment": "cash", "requester": person}  # fmt: skip
        if kind == "disaster.apply":
            return {"stop_id": stop_id, "people": 1, "applicant": person, "cause": "浸水"}
        if kind == "frailty.check":
            return {"stop_id": stop_id, "people": rng.randint(1, 8), "sheet": None}
        return {"stop_id": stop_id, "people": 1, "topic": "福祉", "remote": False}

    def write(
        self,
        van: Van,
        kind: str,
        payload: dict[str, Any],
        t: datetime,
        *,
        supersedes: str | None = None,
    ) -> datetime:
        """One record, as the kiosk saves it; faults: killed writer, full disk."""
        t += timedelta(minutes=van.rng.randint(2, 15))
        van.writes_today += 1
        self._last_id = None

        def action(db: sqlite_utils.Database) -> None:
            rec.append(db, kind, payload, supersedes=supersedes, now=t)

        if van.kill_at == van.writes_today:
            committed = van.killed_write(action)
            self.faults["van_kill_mid_record"] += 1
            self.ops["writes_killed"] += 1
            self.after_write(van)
            if committed:
                return t
            # Nothing was saved (the kiosk never said 保存しました): the operator redoes it.
        db = connect(van.path)
        try:
            if van.disk_full_at == van.writes_today:
                self.faults["disk_full"] += 1
                db.execute(
                    f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}"
                )
                try:
                    for _ in range(50):  # the disk stays full until something is freed
                        rec.append(db, kind, {**payload, "filler": "x" * 4000}, now=t)
                        self.after_write(van)
                except OdekakeError as exc:
                    self.check("refusals_named", "空き" in str(exc), f"{van.device}: {exc}")
                    self.ops["refused_disk_full"] += 1
                db.execute("PRAGMA max_page_count = 1073741823")
            action(db)
        except OdekakeError as exc:
            self.check("refusals_named", bool(str(exc)), f"{van.device}: {kind}: {exc}")
            self.ops["writes_refused"] += 1
            return t
        finally:
            db.close()
        self.ops["records"] += 1
        self.after_write(van)
        return t

    def after_write(self, van: Van) -> None:
        """Note in the ledger what the van now holds after its last known record."""
        db = connect(van.path)
        try:
            for rid, seq, hash_, payload, kind, supersedes in db.execute(
                "SELECT id, seq, hash, payload, type, supersedes FROM records "
                "WHERE device_id = ? AND seq > ? ORDER BY seq",
                [van.device, van.seen_seq],
            ).fetchall():
                self.ledger.kinds[str(rid)] = (str(kind), supersedes)
                book = self.ledger.records.setdefault(van.device, {})
                self.check(
                    "records_exactly_once", rid not in book, f"{van.device}: {rid} twice on the van"
                )
                book[rid] = (int(seq), str(hash_), payload)
                van.seen_seq = int(seq)
                self._last_id = str(rid)
        finally:
            db.close()

    # -- voting ------------------------------------------------------------------------

    def voting(self, day: int, v: int, van: Van) -> None:
        assert self.election is not None
        rng = van.rng
        voters = [
            n for n in range(1, self.n_voters + 1) if (n + day) % (self.n_vans * 2) in (v, v + 1)
        ]
        voters = rng.sample(voters, min(len(voters), 6))
        voters += [n for d, n in self.second_tries.pop(day * 100 + v, [])]  # type: ignore[misc]
        kill_vote = van.kill_at is not None
        van.proxy.offline = False  # the station opens where the network reaches
        cut_at = len(voters) // 2 if "net_cut" in self.schedule.get((day, v), []) else None
        for i, n in enumerate(voters):
            if cut_at is not None and i >= cut_at:
                van.proxy.offline = True  # out of range for the rest of the session
            voter_no = f"{n:06d}"
            kill: str | None = None
            if kill_vote and i == 0:
                # Alternately while the van records the hub's 交付可 and the clerk's 交付した.
                kill = ("handed", "answer")[self.faults["van_kill_mid_record"] % 2]
                self.faults["van_kill_mid_record"] += 1
                kill_vote = False
            # 交付取りやめ: the clerk withdraws from 交付可 instead of handing out.
            withdraw = kill is None and rng.random() < 0.1

            def handed(how: str, _voter: str = voter_no, _van: str = van.device) -> None:
                self.ledger.ballots.setdefault(_voter, []).append(f"{_van}:{how}:day{day}")

            try:
                out = station_vote(
                    van, voter_no, self.election, kill=kill, withdraw=withdraw, on_handed=handed
                )
            except OdekakeError as exc:
                self.check("refusals_named", bool(str(exc)), f"{van.device}: vote: {exc}")
                self.ops["votes_refused"] += 1
                continue
            self.after_write(van)
            self.ops[f"vote_{out.kind}"] += 1
            if out.detail == "killed":
                # The kiosk died mid-record: after the restart the clerk looks the voter
                # up again (the same 交付可, or 投票不可 when the ballot was handed).
                voters.append(n)
                continue
            if out.kind == "withdrawn" and out.detail == "released":
                voters.append(n)  # released at the hub: the voter may come back today
            if out.kind == "blocked":
                self.ledger.blocked.append((voter_no, van.device))
                self.check(
                    "nobody_blocked_without_ballot",
                    bool(self.ledger.ballots.get(voter_no)),
                    f"voter {voter_no} blocked at {van.device} on day {day} with no ballot",
                )
            self.check(
                "one_ballot_per_voter",
                not double_vote(self.ledger.ballots.get(voter_no, [])),
                f"voter {voter_no}: {self.ledger.ballots.get(voter_no)}",
            )
            if out.kind in ("handed", "provisional") and rng.random() < 0.3:
                # A voter who tries twice: here later today, at another van, at city hall.
                where = rng.choice(["same", "other", "fixed"])
                if where == "fixed":
                    self.fixed_station(voter_no)
                else:
                    target = v if where == "same" else (v + 1) % self.n_vans
                    if where == "same":
                        voters.append(n)
                    else:
                        nxt = day if target > v else day + 1
                        self.second_tries.setdefault(nxt * 100 + target, []).append((nxt, n))

    def fixed_station(self, voter_no: str) -> None:
        """The voter tries again at city hall's fixed station (online, no proxy)."""
        auth = DeviceAuth(
            COUNTER_DEVICE, self.counter_key, ensure_hub_key(self.hub_path).public_key()
        )
        answer = VotingClient(f"http://127.0.0.1:{self.hub.port}", auth=auth).checkin(
            election_id=ELECTION_ID,
            voter_no=voter_no,
            station_id=FIXED_STATION,
            clerk_id=CLERK,
            device_id=COUNTER_DEVICE,
            reason="work",
        )
        self.ops["vote_fixed_station"] += 1
        if isinstance(answer, Confirmed):
            self.ledger.ballots.setdefault(voter_no, []).append(f"{FIXED_STATION}:ballot:fixed")
        elif isinstance(answer, AlreadyVoted):
            self.ledger.blocked.append((voter_no, FIXED_STATION))
        self.check(
            "one_ballot_per_voter",
            not double_vote(self.ledger.ballots.get(voter_no, [])),
            f"voter {voter_no}: {self.ledger.ballots.get(voter_no)}",
        )

    # -- sync --------------------------------------------------------------------------

    def sync(self, van: Van, *, pull: bool = False) -> bool:
        """Push (and pull) as auto-sync does: a few tries, each refusal a named one."""
        for _attempt in range(3):
            if not self.hub.alive:
                self.hub.start()
            try:
                if pull:
                    sync_client.pull(van.path, van.proxy.url, retries=0, backoff=0.05)
                    self.ops["pulls"] += 1
                result = sync_client.push(van.path, van.proxy.url, retries=0, backoff=0.05)
                self.ops["pushes"] += 1
                self.ops["records_pushed"] += result.sent
                return True
            except OdekakeError as exc:
                self.ops["sync_refused"] += 1
                self.check("refusals_named", bool(str(exc)), f"{van.device}: sync: {exc}")
        return False

    def usb(self, van: Van, day: int) -> None:
        """Home by USB: export a bundle on the van, import it at the hub."""
        bundle = self.root / f"{van.device}-day{day}.odekake"
        try:
            sync_client.export_bundle(van.path, bundle)
            hub = connect(self.hub_path)
            try:
                ingest_file(hub, bundle)
            finally:
                hub.close()
            self.ops["usb_imports"] += 1
        except (OdekakeError, BundleRefused) as exc:
            self.check("refusals_named", bool(str(exc)), f"{van.device}: usb: {exc}")
            self.ops["usb_refused"] += 1
        finally:
            with contextlib.suppress(OSError):
                bundle.unlink()

    def purge(self, van: Van, day: int) -> None:
        """The van purges personal data; it must be held by a backup that verifies."""
        safe = purge_mark_is_trusted(self.hub_path, van.device)
        db = connect(van.path)
        try:
            plan = retention.purge(db, days=0)
        except OdekakeError as exc:
            self.check("refusals_named", bool(str(exc)), f"{van.device}: purge: {exc}")
            return
        finally:
            db.close()
        self.ops["purges"] += 1
        self.ops["payloads_purged"] += plan.count
        book = self.ledger.records.get(van.device, {})
        unsafe = [rid for rid in plan.record_ids if book.get(rid, (0,))[0] > safe]
        self.unsafe += len(unsafe)
        self.check(
            "no_unsafe_purge",
            not unsafe,
            f"day {day}: {van.device} purged through {plan.acked_through}, but verified "
            f"backups hold only through {safe} ({len(unsafe)} records unsafe)",
        )

    def repin(self, van: Van) -> None:
        assert van.pending_pin is not None
        db = connect(van.path)
        try:
            pin_hub_key(db, van.pending_pin[1], accept_new=True, actor="soak")
        finally:
            db.close()
        van.pending_pin = None
        self.ops["vans_repinned"] += 1

    # -- the hub's side ----------------------------------------------------------------

    def rotate_key(self, day: int) -> None:
        """The hub's key is rotated; every van is re-pinned, one of them a day later."""
        self.hub.stop()
        _old, new, _kept = rotate_hub_key(self.hub_path)
        self.hub.start()
        self.faults["hub_key_rotation"] += 1
        late = self.rng.randrange(self.n_vans)
        for i, van in enumerate(self.vans):
            van.pending_pin = ((day + 1) if i == late else day, new)  # type: ignore[assignment]

    def hub_evening(self, day: int) -> None:
        if not self.hub.alive:
            self.hub.start()
        kinds = self.hub_schedule.get(day, [])
        if "backup_kill_mid_backup" in kinds:
            self.killed_backup()
        try:
            take_backup(self.hub_path, self.backups, keep=5)
            self.ops["backups"] += 1
        except OdekakeError as exc:
            self.check("refusals_named", bool(str(exc)), f"backup: {exc}")
        newest = generations(self.backups)[-1]
        if "backup_truncated" in kinds:
            with newest.open("r+b") as fh:
                fh.truncate(newest.stat().st_size // 2)
            self.faults["backup_truncated"] += 1
        if "backup_edited" in kinds:
            with newest.open("r+b") as fh:
                fh.seek(newest.stat().st_size // 2)
                fh.write(b"\xff" * 64)
            self.faults["backup_edited"] += 1

    def killed_backup(self) -> None:
        """A backup writer killed (SIGKILL) after copying, before it is registered."""
        pid = os.fork()
        if pid == 0:
            try:
                import odekake.operations.backup as backup_module

                def die(_path: Path) -> None:
                    os.kill(os.getpid(), signal.SIGKILL)

                backup_module._fsync = die  # type: ignore[assignment]
                take_backup(self.hub_path, self.backups, keep=5)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        self.faults["backup_kill_mid_backup"] += 1

    def hub_restore(self, day: int) -> None:
        """City hall restores the hub from its newest backup that verifies."""
        self.hub.stop()
        for backup in reversed(generations(self.backups)):
            try:
                restore(backup, self.hub_path)
            except OdekakeError:
                self.ops["restore_refused"] += 1
                continue
            self.ops["hub_restores"] += 1
            self.events.append(f"day {day}: hub restored from {backup.name}")
            break
        self.hub.start()

    # -- the end -----------------------------------------------------------------------

    def final_sync(self) -> None:
        for van in self.vans:
            van.proxy.script = []
            van.proxy.offline = False
            if van.pending_pin is not None:
                self.repin(van)
            self.sync(van)

    def final_checks(self) -> None:
        hub = connect(self.hub_path)
        try:
            report = rec.verify(hub)
            self.check("chains_verify", report.ok, f"hub: {report.problems[:1]}")
            for van in self.vans:
                db = connect(van.path)
                try:
                    r = rec.verify(db)
                    self.check("chains_verify", r.ok, f"{van.device}: {r.problems[:1]}")
                    self.check_evidence(db, van)
                finally:
                    db.close()
                self.check_records(hub, van)
            self.check_votes(hub)
            self.check_totals(hub)
        finally:
            hub.close()
        log = self.hub.log.read_text(encoding="utf-8", errors="replace")
        self.check("refusals_named", "Traceback" not in log, "a traceback in the hub's log")
        for proxy in self.proxies:
            fives = sum(n for s, n in proxy.statuses.items() if s >= 500)
            self.check("refusals_named", fives == 0, f"{fives} answers with status 5xx")

    def check_records(self, hub: sqlite_utils.Database, van: Van) -> None:
        stored = {
            r[0]: r[1:]
            for r in hub.execute(
                "SELECT id, seq, hash, payload FROM records WHERE device_id = ?", [van.device]
            )
        }
        for rid, (seq, hash_, payload) in self.ledger.records.get(van.device, {}).items():
            have = stored.get(rid)
            same = have is not None and have[0] == seq and have[1] == hash_
            if have is not None and payload is not None:
                same = same and have[2] == payload
            if have is None:
                self.lost += 1
            self.check(
                "records_exactly_once",
                same,
                f"{van.device} seq {seq} ({rid}) {'missing at' if have is None else 'differs at'} the hub",
            )
        extra = set(stored) - set(self.ledger.records.get(van.device, {}))
        self.doubled += len(extra)
        self.check(
            "records_exactly_once", not extra, f"{van.device}: {len(extra)} records at the hub only"
        )
        quarantined = hub.execute(
            "SELECT COUNT(*) FROM sync_quarantine WHERE device_id = ?", [van.device]
        ).fetchone()[0]
        self.doubled += int(quarantined)
        self.check(
            "records_exactly_once", not quarantined, f"{van.device}: {quarantined} quarantined"
        )

    def check_evidence(self, db: sqlite_utils.Database, van: Van) -> None:
        for seq, evidence in db.execute("SELECT seq, evidence FROM hub_acks").fetchall():
            proven = acked_by_evidence(db, evidence, van.device)
            self.check(
                "answers_acted_on_verified",
                proven is not None and proven >= int(seq),
                f"{van.device}: acknowledgement of {seq} does not verify",
            )

    def check_votes(self, hub: sqlite_utils.Database) -> None:
        incidents = {i["voter_no"] for i in ck.incidents(hub, ELECTION_ID)}
        for voter, ballots in sorted(self.ledger.ballots.items()):
            doubled = double_vote(ballots)
            self.double_votes += doubled
            self.check("one_ballot_per_voter", not doubled, f"voter {voter}: {ballots}")
            if len(ballots) > 1:
                self.check(
                    "second_attempt_is_incident",
                    voter in incidents,
                    f"voter {voter} got {ballots} and the hub has no incident",
                )
        checked_in = {
            r[0]
            for r in hub.execute(
                "SELECT voter_no FROM vote_checkins WHERE election_id = ?", [ELECTION_ID]
            )
        }
        for voter, _where in self.ledger.blocked:
            self.check(
                "nobody_blocked_without_ballot",
                bool(self.ledger.ballots.get(voter)),
                f"voter {voter} blocked with no ballot (hub check-in: {voter in checked_in})",
            )

    def check_totals(self, hub: sqlite_utils.Database) -> None:
        """The usage report's counts (records and people per category) equal the ledger's.

        The ledger side: every service record the vans made at one of their stops,
        minus what a later record superseded (a void or a correction).
        """
        superseded = {sup for _kind, sup in self.ledger.kinds.values() if sup}
        expected_records: Counter[str] = Counter()
        expected_people: Counter[str] = Counter()
        texts = {rid: t[2] for book in self.ledger.records.values() for rid, t in book.items()}
        stops = {
            json.loads(texts[rid] or "{}").get("stop_id")
            for rid, (kind, _sup) in self.ledger.kinds.items()
            if kind == "stop.open"
        }
        for rid, (kind, _sup) in self.ledger.kinds.items():
            category = SERVICE_RECORD_TYPES.get(kind)
            if category is None or rid in superseded:
                continue
            payload = json.loads(texts[rid] or "{}")
            if payload.get("stop_id") not in stops:
                continue  # a station's vote.cast: no stop of the van's (not in the report)
            expected_records[category] += 1
            expected_people[category] += int(payload.get("people", 1))
        end = self.start_day + timedelta(days=self.n_days)
        counts = count_period(hub, Period(self.start_day, end))
        got_records: Counter[str] = Counter()
        got_people: Counter[str] = Counter()
        for stop in counts.stops:
            got_records.update(stop.records)
            got_people.update(stop.people)
        self.check(
            "report_totals_match_records",
            +got_records == +expected_records,
            f"report records {dict(got_records)} ≠ made {dict(expected_records)}",
        )
        self.check(
            "report_totals_match_records",
            +got_people == +expected_people,
            f"report people {dict(got_people)} ≠ made {dict(expected_people)}",
        )

    # -- output ------------------------------------------------------------------------

    def table(self) -> list[str]:
        lines = [f"seed {self.seed}: {self.n_vans} vans × {self.n_days} days", "", "operations"]
        lines += [f"  {k:<24} {v:>7}" for k, v in sorted(self.ops.items())]
        lines += ["", "faults injected"]
        lines += [f"  {k:<24} {self.faults[k]:>7}" for k in FAULT_KINDS]
        lines += ["", f"  {'invariant':<30} {'checks':>7} {'broken':>7}"]
        lines += [f"  {k:<30} {self.checks[k]:>7} {self.broken[k]:>7}" for k in INVARIANTS]
        return lines

    def summary(self) -> str:
        n = sum(len(b) for b in self.ledger.records.values())
        f = sum(self.faults.values())
        return (
            f"soak: {n} records, {self.n_days} days, {self.n_vans} vans, {f} faults, "
            f"{self.lost} lost, {self.doubled} doubled, {self.double_votes} double votes, "
            f"{self.unsafe} unsafe purges"
        )

    def close(self) -> None:
        for proxy in self.proxies:
            proxy.close()
        self.hub.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM/SIGHUP end the run through ``finally`` (the hub stopped, files removed)."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def run_soak(
    seed: int, vans: int, days: int, voters: int, faults: tuple[str, ...] = FAULT_KINDS
) -> tuple[int, list[str]]:
    """Run one soak; return (exit status, output lines)."""
    with _terminate_as_exit(), tempfile.TemporaryDirectory(prefix="odekake-soak-") as tmp:
        soak = Soak(Path(tmp), seed, vans, days, voters, faults)
        try:
            soak.setup()
            soak.counter_key = _enrol_counter(soak.hub_path)
            soak.run()
            soak.final_checks()
        except Exception as exc:  # any crash is a finding, reported with the seed
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            soak.check(
                "refusals_named",
                False,
                f"{type(exc).__name__}: {exc} ({Path(frame.filename).name}:{frame.lineno})",
            )
        finally:
            soak.close()
        out = soak.table()
        status = 0
        if soak.broken:
            status = 1
            replay = f"--seed {seed} --vans {vans} --days {days} --voters {voters}"
            if faults != FAULT_KINDS:
                replay += f" --faults {','.join(faults)}"
            out += ["", f"FAILED; replay with {replay}"]
            out += [f"first broken history: {soak.ledger.histories[0]}"]
            out += [f"  {h}" for h in soak.ledger.histories[1:6]]
            out += [f"  (hub side: {e})" for e in soak.events]
        out.append(soak.summary())
        return status, out


def _enrol_counter(hub_path: Path) -> Any:
    from odekake.sync.keys import generate_key, register_device

    key = generate_key()
    db = connect(hub_path)
    try:
        register_device(db, COUNTER_DEVICE, public_key_text(key), van_id=COUNTER_DEVICE)
    finally:
        db.close()
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vans", type=int, default=3)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--voters", type=int, default=60)
    parser.add_argument(
        "--faults",
        default=",".join(FAULT_KINDS),
        help="the fault kinds to inject, comma-separated (default: all)",
    )
    opts = parser.parse_args(argv)
    for name, value, top in (("--vans", opts.vans, 10), ("--days", opts.days, 60),
                             ("--voters", opts.voters, 1000)):  # fmt: skip
        if not 1 <= value <= top:
            parser.error(f"{name} must be between 1 and {top}")
    faults = tuple(f for f in FAULT_KINDS if f in opts.faults.split(","))
    unknown = set(opts.faults.split(",")) - set(FAULT_KINDS)
    if unknown:
        parser.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    status, lines = run_soak(opts.seed, opts.vans, opts.days, opts.voters, faults)
    print("\n".join(lines[:-1]))
    print(f"wall time {time.perf_counter() - started:.1f} s")
    print(lines[-1])
    return status


if __name__ == "__main__":
    sys.exit(main())
