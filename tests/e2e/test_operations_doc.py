"""docs/operations.md followed step by step: its shell blocks run as written.

The guide's §1–§9 blocks run in order, with bash, as one walk-through on this machine:
the system paths are moved under a temporary folder, the port and host made loopback,
and ``systemctl`` / ``sudo`` replaced by stand-ins that run the units' ``ExecStart``
lines (§11 of the guide says so). §10's restore drill runs as it stands. What cannot
run (systemd itself, apt, useradd) is checked statically: the units' options exist,
``systemd-analyze verify`` accepts the units, the logrotate stanza names the log.
"""

from __future__ import annotations

import fnmatch
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from odekake.storage.db import connect
from tests.sync.conftest import add_records, free_port

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
VENV_BIN = Path(sys.executable).parent
PASSWORD = "operations-guide-2026"
PIN = "246810"


# --- reading the guide -------------------------------------------------------------


@dataclass
class Block:
    """One fenced block of the guide."""

    section: int
    lang: str
    text: str

    @property
    def label(self) -> str:
        """The first line (``# as root``, ``# on the hub, …``, ``# on van-1's PC, …``)."""
        return self.text.splitlines()[0] if self.text else ""


def doc_blocks() -> list[Block]:
    """Every fenced block of the guide with its ``## N.`` section number."""
    section = 0
    blocks: list[Block] = []
    lines = DOC.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        heading = re.match(r"## (\d+)\. ", lines[i])
        if heading:
            section = int(heading.group(1))
        fence = re.match(r"```(\w*)\s*$", lines[i])
        if fence:
            end = lines.index("```", i + 1)
            blocks.append(Block(section, fence.group(1), "\n".join(lines[i + 1 : end]) + "\n"))
            i = end
        i += 1
    return blocks


def drill_script() -> str:
    """§10's restore drill."""
    (block,) = [b for b in doc_blocks() if b.section == 10 and b.lang == "sh"]
    return block.text


def unit(marker: str) -> str:
    """The ini block (a systemd unit) that contains ``marker``."""
    (block,) = [b for b in doc_blocks() if b.lang == "ini" and marker in b.text]
    return block.text


def exec_start(unit_text: str) -> list[str]:
    """A unit's ``ExecStart`` as argv (continuation lines joined, as systemd does)."""
    joined = re.sub(r"\\\n\s*", " ", unit_text)
    (line,) = [ln for ln in joined.splitlines() if ln.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


HUB_UNIT_MARK = "ExecStart=/opt/odekake/bin/odekake hub serve"
BACKUP_UNIT_MARK = "ExecStart=/opt/odekake/bin/odekake hub backup"
TIMER_MARK = "[Timer]"


def logrotate_stanza() -> str:
    (block,) = [b for b in doc_blocks() if b.lang == "" and "{" in b.text and "rotate" in b.text]
    return block.text


# --- one machine of the walk-through ----------------------------------------------

SYSTEMCTL = '''#!{python}
"""Stand-in for systemctl (tests/e2e/test_operations_doc.py): no systemd here."""
import json, os, signal, socket, subprocess, sys, time
from pathlib import Path

cfg = json.loads(Path({config!r}).read_text())
state = Path(cfg["state"])
pidfile = state / "hub.pid"


def alive(pid):
    try:
        stat = Path(f"/proc/{{pid}}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def running():
    if not pidfile.exists():
        return None
    pid = int(pidfile.read_text())
    return pid if alive(pid) else None


def start_hub():
    if running():
        return
    journal = state / "hub.journal"
    with open(journal, "ab") as out:
        proc = subprocess.Popen(cfg["hub"], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("odekake-hub failed: " + journal.read_text(errors="replace")[-2000:])
        try:
            socket.create_connection(("127.0.0.1", cfg["port"]), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("odekake-hub did not start listening")


def stop_hub():
    pid = running()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


words = [a for a in sys.argv[1:] if not a.startswith("-")]
verb, units = words[0], [u.removesuffix(".service") for u in words[1:]]
with open(state / "systemctl.log", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if verb == "daemon-reload":
    sys.exit(0)
for name in units:
    if name == "odekake-hub":
        if verb == "start" or (verb == "enable" and "--now" in sys.argv):
            start_hub()
        elif verb == "stop":
            stop_hub()
        elif verb == "restart":
            stop_hub()
            start_hub()
        elif verb == "status":
            pid = running()
            print(f"odekake-hub.service: {{'active (running), pid ' + str(pid) if pid else 'inactive'}}")
            if not pid:
                sys.exit(3)
        elif verb != "enable":
            sys.exit(f"systemctl stand-in: {{verb}} {{name}}?")
    elif name == "odekake-backup" and verb == "start":
        done = subprocess.run(cfg["backup"])
        if done.returncode:
            sys.exit(done.returncode)
    elif name == "odekake-backup.timer" and verb == "enable":
        (state / "timer-enabled").touch()
    else:
        sys.exit(f"systemctl stand-in: {{verb}} {{name}}?")
'''

SUDO = """#!/bin/sh
# Stand-in for sudo (tests/e2e/test_operations_doc.py): the command runs as the test's user.
while [ $# -gt 0 ]; do
  case "$1" in
    -u) shift 2 ;;
    -i|-H) shift ;;
    --) shift; break ;;
    -*) echo "sudo stand-in: $1?" >&2; exit 2 ;;
    *) break ;;
  esac
done
exec "$@"
"""


@dataclass
class Machine:
    """A hub machine of the walk-through: its root folder, stand-ins and port."""

    name: str
    base: Path
    port: int
    started: bool = False

    @property
    def root(self) -> Path:
        return self.base / self.name

    @property
    def home(self) -> Path:
        return self.root / "srv" / "odekake"

    @property
    def state(self) -> Path:
        return self.root / "run"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def rewrite(self, text: str) -> str:
        """The guide's text with this machine's paths, loopback and the free port."""
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        subs = {
            "/opt/odekake/bin": str(VENV_BIN),
            "/srv/odekake": str(self.root / "srv" / "odekake"),
            "/etc/odekake": str(self.root / "etc" / "odekake"),
            "/var/log/odekake": str(self.root / "var" / "log" / "odekake"),
            "/media/usb": str(self.base / "media" / "usb"),
            "://hub.city.local:8765": f"://127.0.0.1:{self.port}",
            "--host 0.0.0.0": "--host 127.0.0.1",
            ":8765": f":{self.port}",
            "--port 8765": f"--port {self.port}",
            "-o odekake": f"-o {user}",
            "-o root": f"-o {user}",
            "-g odekake": f"-g {group}",
            "chgrp odekake": f"chgrp {group}",
        }
        pattern = re.compile("|".join(re.escape(k) for k in sorted(subs, key=len, reverse=True)))
        out = pattern.sub(lambda m: subs[m.group(0)], text)
        # Safety: nothing of the real system is touched (the test may run as root).
        stray = re.findall(r"(?<![\w./~-])/(?:srv|etc|var|opt|media|root|usr|home|boot)\b\S*", out)
        assert not stray, f"a path the test does not move: {stray}"
        assert "hub.city.local:" not in out and "8765" not in out.replace(str(self.base), "")
        return out

    def install_stand_ins(self) -> None:
        """systemctl and sudo stand-ins that run this machine's units' ExecStart."""
        self.bin.mkdir(parents=True)
        self.state.mkdir(parents=True)
        config = self.state / "units.json"
        config.write_text(
            json.dumps(
                {
                    "state": str(self.state),
                    "port": self.port,
                    "hub": shlex.split(self.rewrite(shlex.join(exec_start(unit(HUB_UNIT_MARK))))),
                    "backup": shlex.split(
                        self.rewrite(shlex.join(exec_start(unit(BACKUP_UNIT_MARK))))
                    ),
                }
            ),
            encoding="utf-8",
        )
        systemctl = self.bin / "systemctl"
        systemctl.write_text(SYSTEMCTL.format(python=sys.executable, config=str(config)))
        sudo = self.bin / "sudo"
        sudo.write_text(SUDO)
        for f in (systemctl, sudo):
            f.chmod(0o755)

    def stop(self) -> None:
        pidfile = self.state / "hub.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)


@dataclass
class Walk:
    """The walk-through's state: machines, vans, every block's output."""

    base: Path
    port: int
    machines: dict[str, Machine] = field(default_factory=dict)
    current: str = "old"
    ran: list[tuple[Block, str]] = field(default_factory=list)
    not_run: list[Block] = field(default_factory=list)

    @property
    def hub(self) -> Machine:
        return self.machines[self.current]

    def van_dir(self, device: str) -> Path:
        path = self.base / "vans" / device
        path.mkdir(parents=True, exist_ok=True)
        return path

    def bash(self, script: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PATH": os.pathsep.join([str(self.hub.bin), str(VENV_BIN), os.environ["PATH"]]),
            "HOME": str(self.hub.home),
        }
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            start_new_session=True,  # no terminal: prompts read standard input
        )

    def run(self, block: Block) -> str:
        """Run one block where its first line says; return stdout (+ stderr)."""
        van = re.search(r"(?:folder for|on) (van-\w+)", block.label)
        cwd = self.van_dir(van.group(1)) if van else self.hub.root
        stdin = ""
        for line in block.text.splitlines():
            if line.startswith("read -rs"):
                stdin += PASSWORD + "\n"
            if line.startswith("odekake operators add") and "--pin" not in line:
                stdin += f"{PIN}\n{PIN}\n"
        done = self.bash(self.hub.rewrite(block.text), cwd, stdin)
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"§{block.section} {block.label}\n{out[-3000:]}"
        assert "Traceback" not in out
        self.ran.append((block, out))
        return out

    def odekake(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return self.bash(self.hub.rewrite(shlex.join(["odekake", *args])), cwd)

    def van_push(self, device: str, *, records: int = 3) -> subprocess.CompletedProcess[str]:
        """The kiosk's day on ``device`` (``records`` new records), then a push."""
        folder = self.van_dir(device)
        db = connect(folder / "van.db")
        add_records(db, records)
        db.close()
        return self.odekake(
            "sync", "push", "--db", "van.db", "--hub", "https://hub.city.local:8765",
            "--ca-file", "city-ca.pem", cwd=folder,
        )  # fmt: skip


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    w = Walk(tmp_path, free_port())
    for name in ("old", "new"):
        w.machines[name] = Machine(name, tmp_path, w.port)
        w.machines[name].install_stand_ins()
    try:
        yield w
    finally:
        for m in w.machines.values():
            m.stop()


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


# --- the walk-through -------------------------------------------------------------


def test_the_guide_followed_step_by_step_sets_up_moves_and_replaces(walk: Walk) -> None:
    blocks = [b for b in doc_blocks() if b.lang == "sh" and 1 <= b.section <= 9]
    folders = [b for b in blocks if b.section == 1 and "install -d" in b.text]
    assert len(folders) == 1 and "not run" not in folders[0].label
    old, new = walk.machines["old"], walk.machines["new"]
    outputs: dict[str, str] = {}
    for block in blocks:
        label = block.label
        assert label.startswith("#"), f"§{block.section}: a block without a first-line label"
        if "not run by the test" in label:
            walk.not_run.append(block)
            continue
        if "on the new hub" in label and walk.current == "old":
            walk.current = "new"
            walk.run(folders[0])  # the new machine is installed as in §1.1 first
        elif "on the old hub" in label:
            assert walk.current == "old"
        text = block.text
        if "sync push" in text and "van-1's PC" in label:
            add_records(db := connect(walk.van_dir("van-1") / "van.db"), 3)
            db.close()
        if "hub restore" in text and walk.current == "old":
            # pushed after the last backup: the restore loses them at the hub, the van resends
            lost = walk.van_push("van-1")
            assert lost.returncode == 0 and "ハブ受領済み 6 / 6 番" in lost.stdout, lost.stderr
        out = walk.run(block)
        for key in (
            "staff add", "systemctl status", "device enroll --db van.db --hub-db",
            "odekake-backup.service\n", "hub restore", "mv ", "curl", "device revoke",
        ):  # fmt: skip
            if key in text:
                outputs.setdefault(key, "")
                outputs[key] += out
        if "mv /var/log/odekake/hub.log" in text:
            check_rotation(walk)
        if "device revoke" in text:
            refused = walk.van_push("van-1")
            assert refused.returncode == 1 and "端末 van-1 は失効しています" in refused.stderr
            assert "Traceback" not in refused.stderr
    assert walk.current == "new", "§8 moved the hub"
    assert [b.section for b in walk.not_run] == [1], "only §1.1's install is not run"

    # §1: the first set-up and the service started from the unit's ExecStart
    first = outputs["staff add"]
    assert "を作成しました(hub)" in first and "鍵を作成しました" in first
    assert "職員アカウントを作成しました: admin01(情報政策、システム管理者)" in first
    assert "active (running)" in outputs["systemctl status"]
    for name in ("hub-seal.key", "hub.db.sign.key"):
        assert (old.home / name).stat().st_mode & 0o777 == 0o600
    assert (old.root / "etc/odekake/hub.key").stat().st_mode & 0o777 == 0o640
    hub_serve = json.loads((old.state / "units.json").read_text())["hub"]
    assert "--tls-cert" in hub_serve and hub_serve[hub_serve.index("--port") + 1] == str(walk.port)
    # §3: the van enrolled over HTTPS and took its operators
    assert "職員 1件" in outputs["device enroll --db van.db --hub-db"]
    # §4: a backup as the timer runs it; §5: the restore kept the file it replaced
    assert "バックアップを作成し、検証しました" in outputs["odekake-backup.service\n"]
    assert "を復元しました" in outputs["hub restore"]
    assert list(old.home.glob("hub.db.replaced-*")), "the replaced file is kept"
    # §7: /health from the hub itself says ok
    health = json.loads(outputs["curl"].splitlines()[0])
    assert health["status"] == "ok" and health["devices_active"] == 1, health
    # §8: the moved hub holds every record of van-1 and its chain verifies there
    van1 = walk.van_dir("van-1") / "van.db"
    at_new = count(new.home / "hub.db", "SELECT count(*) FROM records WHERE device_id = 'van-1'")
    assert at_new == 12  # 3 + 3 lost by §5's restore and sent again + 3 + 3 after the move
    moved = [out for b, out in walk.ran if b.section == 8 and "van-1's PC" in b.label]
    assert "ハブ受領済み 12 / 12 番" in moved[0]
    # the 3 made after the revoke stay on the stolen van's disk only (§9 "What is lost")
    assert count(van1, "SELECT count(*) FROM records") == 15
    verify = walk.odekake("records", "verify", "--db", "/srv/odekake/hub.db", cwd=new.root)
    assert "OK: すべての記録の連鎖と連番は正常です。" in verify.stdout, verify.stderr
    assert (old.state / "timer-enabled").exists() and (new.state / "timer-enabled").exists()
    # §9: van-1 revoked; van-1b enrolled on the same van, holding its operators
    assert "端末 van-1 を失効させました。" in outputs["device revoke"]
    van1b = walk.van_dir("van-1b") / "van.db"
    operators = sqlite3.connect(van1b).execute("SELECT id FROM operators").fetchall()
    assert operators == [("op001",)]
    devices = sqlite3.connect(new.home / "hub.db").execute(
        "SELECT device_id, van_id, status FROM devices ORDER BY device_id"
    )
    assert devices.fetchall() == [("van-1", "van-1", "revoked"), ("van-1b", "van-1", "active")]


def check_rotation(walk: Walk) -> None:
    """After §6's move of the log, the hub writes the next line to a new hub.log."""
    logs = walk.hub.root / "var/log/odekake"
    before = (logs / "hub.log.1").read_text(encoding="utf-8")
    assert "端末 van-1: 受信" in before and not (logs / "hub.log").exists()
    pushed = walk.van_push("van-1")
    assert pushed.returncode == 0, pushed.stderr
    after = (logs / "hub.log").read_text(encoding="utf-8")
    # the three records the §5 restore lost at the hub come again with the three new ones
    assert "端末 van-1: 受信 6 件(新規 6" in after and "受領済み 9 番まで" in after
    assert (logs / "hub.log.1").read_text(encoding="utf-8") == before


# --- what cannot run here, checked statically ------------------------------------


def test_the_units_ask_for_options_that_exist_and_the_stanza_names_the_log() -> None:
    from odekake.commands.sync import hub_backup, hub_serve

    for marker, command in ((HUB_UNIT_MARK, hub_serve), (BACKUP_UNIT_MARK, hub_backup)):
        argv = exec_start(unit(marker))
        assert argv[:3] == ["/opt/odekake/bin/odekake", "hub", command.name]
        known = {opt for param in command.params for opt in param.opts}
        asked = {a for a in argv if a.startswith("--")}
        assert asked and asked <= known, asked - known
        parsed = command.make_context(command.name or "", argv[3:])
        assert parsed.params["db_path"] == Path("/srv/odekake/hub.db")
    hub = exec_start(unit(HUB_UNIT_MARK))
    log = hub[hub.index("--log") + 1]
    pattern = logrotate_stanza().split("{")[0].strip()
    assert fnmatch.fnmatch(log, pattern), (log, pattern)
    writable = re.search(r"ReadWritePaths=(.*)", unit(HUB_UNIT_MARK)).group(1).split()  # type: ignore[union-attr]
    for path in (hub[hub.index("--db") + 1], log):
        assert any(path.startswith(w + "/") for w in writable), path
    # the §1.1 folders are the ones the unit writes to, and /etc/odekake for the certificate
    (folders,) = [b.text for b in doc_blocks() if b.section == 1 and "install -d" in b.text]
    for path in (*writable, "/srv/odekake/backups", "/etc/odekake"):
        assert re.search(rf"\s{re.escape(path)}(\s|$)", folders), path


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_systemd_accepts_the_three_units(tmp_path: Path) -> None:
    texts = {
        "odekake-hub.service": unit(HUB_UNIT_MARK),
        "odekake-backup.service": unit(BACKUP_UNIT_MARK),
        "odekake-backup.timer": unit(TIMER_MARK),
    }
    for name, text in texts.items():
        # the same units, with the binary where this machine has it
        (tmp_path / name).write_text(text.replace("/opt/odekake/bin", str(VENV_BIN)))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in texts)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


# --- §10, the restore drill --------------------------------------------------------


def test_the_restore_drill_in_the_guide_runs_and_loses_nothing(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(free_port()),
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", drill_script()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "バックアップを作成し、検証しました" in out
    assert "を復元しました" in out
    assert "Traceback" not in done.stderr
    # every chain verifies at the restored hub, which holds the van's records again
    assert "OK: すべての記録の連鎖と連番は正常です。" in out
    assert "NG:" not in done.stderr
    assert list((tmp_path / "drill").glob("hub.db.replaced-*")) == []  # the lost file was gone
    assert (tmp_path / "drill" / "hub.log").read_text(encoding="utf-8")
