"""Benchmark: ingest 100,000 records through a bundle file and over HTTP.

Run by hand (not part of the test suite)::

    .venv/bin/python benchmarks/bench_sync.py [--records 100000] [--batch-size 5000]

Every measured step runs as its own process through the real command line
(``odekake sync export`` / ``sync import`` / ``hub serve`` / ``sync push``), so the
figures include start-up, signature checks, chain verification and the SQLite
commits with ``synchronous=FULL``. Peak memory and CPU time are each child's
``ru_maxrss`` and ``ru_utime + ru_stime`` (from ``os.wait4``); CPU time is the
figure to trust on a shared, loaded machine.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from odekake.storage.canonical import canonical_json
from odekake.storage.db import connect, write
from odekake.storage.records import GENESIS, build_record, insert_record
from odekake.sync.bundle import FIELDS
from odekake.sync.enrolment import enroll


def make_van(path: Path, n: int) -> None:
    """A van with ``n`` realistic records (certificate issues with a requester)."""
    db = connect(path, role="van", create=True, device_id="van-bench")
    t0 = datetime(2026, 4, 1, tzinfo=UTC)
    prev, hlc = GENESIS, None
    with write(db):
        for seq in range(1, n + 1):
            r = build_record(
                device_id="van-bench",
                seq=seq,
                prev_hash=prev,
                prev_hlc=hlc,
                type="certificate.issue",
                payload={
                    "stop_id": f"van-bench-{seq // 40}",
                    "people": 1,
                    "service_code": "cert.juminhyo",
                    "service_name": "住民票の写し",
                    "copies": 1,
                    "fee_each": 300,
                    "amount": 300,
                    "payment": "cash",
                    "receipt_no": f"R2026-van-bench-{seq:06d}",
                    "requester": {
                        "name": "佐藤 ヨシ子",
                        "kana": "サトウ ヨシコ",
                        "address": f"いわき市川前町デモ{seq % 9 + 1}丁目{seq % 40 + 1}番地",
                        "birth_date": "1941-05-03",
                        "phone": "0246-12-3456",
                    },
                    "relation": "本人",
                    "id_check": ["マイナンバーカード"],
                    "optional_items": [],
                    "purpose": "年金手続き",
                },
                now=t0 + timedelta(seconds=seq),
            )
            insert_record(db, r)
            prev, hlc = r.hash, r.hlc
    db.close()


def raw_insert_and_hash(van: Path, hub_path: Path) -> tuple[float, float]:
    """Wall and CPU seconds to hash and insert the van's records with plain SQLite.

    The floor an ingest cannot beat: the records are read into memory first (not
    timed); then each record's payload and chain header are hashed (SHA-256) and the
    rows inserted into a fresh hub's ``records`` table (same indexes, WAL,
    ``synchronous=FULL``) in one transaction, in this process (no start-up), with no
    parsing, signature, chain or duplicate checks.
    """
    src = connect(van)
    rows = src.execute(f"SELECT {', '.join(FIELDS)} FROM records ORDER BY seq").fetchall()
    src.close()
    db = connect(hub_path, role="hub", create=True)
    start, cpu = time.perf_counter(), time.process_time()
    for row in rows:
        hashlib.sha256(row[6].encode("utf-8")).hexdigest()
        header = [*row[:6], row[7], row[8], row[10] or ""]
        hashlib.sha256(canonical_json(header).encode("utf-8")).hexdigest()
    with write(db):
        db.conn.executemany(
            f"INSERT INTO records ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
            rows,
        )
    secs, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.close()
    return secs, cpu


def run(args: list[str]) -> tuple[float, float, int, str]:
    """Run ``odekake`` args; return (wall seconds, CPU seconds, peak RSS MB, stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "odekake.cli", *args], stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{args[:2]} failed: {err.read().decode()}")
        cpu = usage.ru_utime + usage.ru_stime
        return elapsed, cpu, int(usage.ru_maxrss // 1024), out.read().decode().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    opts = parser.parse_args()
    n = opts.records
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        van, hub_file, hub_http = root / "van.db", root / "hub-file.db", root / "hub-http.db"
        t = time.perf_counter()
        make_van(van, n)
        print(f"van with {n} records built in {time.perf_counter() - t:.1f} s")
        # Each hub pins its own signing key on the van that talks to it, so the
        # HTTP run pushes from a copy of the van (same records, its own pinned key).
        van_http = root / "van-http.db"
        shutil.copyfile(van, van_http)
        for van_db, hub in ((van, hub_file), (van_http, hub_http)):
            connect(hub, role="hub", create=True).close()
            enroll(van_db, hub)
        bundle = root / "bundle.jsonl"
        secs, cpu, rss, _ = run(["sync", "export", "--db", str(van), "--out", str(bundle)])
        size = bundle.stat().st_size / 1e6
        print(f"export : {n / secs:9.0f} rec/s ({secs:.2f} s wall, {cpu:.2f} s CPU, {size:.0f} MB)")
        raw, raw_cpu = raw_insert_and_hash(van, root / "hub-raw.db")
        print(
            f"raw    : {n / raw:9.0f} rec/s ({raw:.2f} s wall, {raw_cpu:.2f} s CPU, hash + insert)"
        )
        secs, cpu, rss, out = run(["sync", "import", "--db", str(hub_file), str(bundle)])
        print(
            f"import : {n / secs:9.0f} rec/s ({secs:.2f} s wall, {cpu:.2f} s CPU, "
            f"peak RSS {rss} MB)  {out}"
        )
        print(
            f"ratio  : {raw / secs:.2f} wall, {raw_cpu / cpu:.2f} CPU "
            "(import rate / raw insert-and-hash rate)"
        )

        port = free_port()
        hub_proc = subprocess.Popen(
            [sys.executable, "-m", "odekake.cli", "hub", "serve", "--db", str(hub_http),
             "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{url}/health", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        try:
            secs, cpu, rss, out = run(
                [
                    "sync",
                    "push",
                    "--db",
                    str(van_http),
                    "--hub",
                    url,
                    "--batch-size",
                    str(opts.batch_size),
                ]
            )
        finally:
            hub_proc.terminate()
            _, _, usage = os.wait4(hub_proc.pid, 0)
        hub_rss = int(usage.ru_maxrss // 1024)
        hub_cpu = usage.ru_utime + usage.ru_stime
        print(
            f"http   : {n / secs:9.0f} rec/s ({secs:.2f} s wall, batch {opts.batch_size}; CPU "
            f"client {cpu:.2f} s, hub {hub_cpu:.2f} s; peak RSS client {rss} MB, hub {hub_rss} MB)"
            f"  {out}"
        )
    print(
        f"machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
