"""Check-in latency and contention at a real hub subprocess (run by hand, not in CI).

    .venv/bin/python benchmarks/voting_checkin.py [--voters 200] [--contenders 50]

Measures: (1) sequential check-ins of different voters (median / p95 latency);
(2) ``--contenders`` threads checking in the same voter at once (wall time until all
answered, and that exactly one was confirmed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from odekake.storage.db import connect
from odekake.voting import roll as rl
from odekake.voting.client import Confirmed
from tests.voting.conftest import ELECTION_ID, ROLL_HEADER, HubProcess, make_hub, signed_client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voters", type=int, default=200)
    parser.add_argument("--contenders", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = make_hub(Path(tmp) / "hub.db", n_fixed=args.contenders)
        roll = Path(tmp) / "big.csv"
        lines = [
            f"{i:06d},選挙人{i},センキョニン,1950-01-01,男,,小川第3"
            for i in range(1, args.voters + 2)
        ]
        roll.write_text(ROLL_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
        db = connect(db_path)
        rl.import_roll(db, ELECTION_ID, roll)
        db.close()
        hub = HubProcess(db_path)
        try:
            client = signed_client(db_path, "van-1", hub.url, timeout=30)
            latencies = []
            for i in range(2, args.voters + 2):
                t0 = time.perf_counter()
                result = client.checkin(
                    election_id=ELECTION_ID,
                    voter_no=f"{i:06d}",
                    station_id="ogawa-van",
                    clerk_id="cl001",
                    device_id="van-1",
                    reason="work",
                )
                latencies.append((time.perf_counter() - t0) * 1000)
                assert isinstance(result, Confirmed)
            latencies.sort()
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            print(
                f"sequential: {args.voters} check-ins, median {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms"
            )

            barrier = threading.Barrier(args.contenders)
            results: list[object] = []

            contenders = {
                i: signed_client(db_path, f"van-st{i:02d}", hub.url, timeout=30)
                for i in range(1, args.contenders + 1)
            }

            def worker(i: int) -> None:
                c = contenders[i]
                barrier.wait()
                results.append(
                    c.checkin(
                        election_id=ELECTION_ID,
                        voter_no="000001",
                        station_id=f"st{i:02d}",
                        clerk_id="cl001",
                        device_id=f"van-st{i:02d}",
                        reason="work",
                    )
                )

            threads = [
                threading.Thread(target=worker, args=(i,)) for i in range(1, args.contenders + 1)
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = (time.perf_counter() - t0) * 1000
            confirmed = sum(isinstance(r, Confirmed) for r in results)
            print(
                f"contention: {args.contenders} threads, same voter: {confirmed} confirmed, all answered in {wall:.0f} ms"
            )
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
