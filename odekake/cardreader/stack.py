"""A private PC/SC stack for tests and demos: pcscd with vsmartcard's virtual reader.

Debian's pcscd always uses ``/run/pcscd`` for its socket, so a private daemon runs
in its own mount namespace (``unshare -m``, root) with a folder of ours bound
over ``/run/pcscd``; clients reach it through ``PCSCLITE_CSOCK_NAME``. Its
reader configuration names the virtual reader (``libifdvpcd``) on a free
loopback port, where :class:`odekake.cardreader.emulator.VirtualCard` connects.
Two such stacks never share a socket or a port, so parallel test runs are safe.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PCSCD = "/usr/sbin/pcscd"
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
PACKAGES = ("pcscd", "vsmartcard-vpcd", "libpcsclite1")


def missing() -> str | None:
    """Why a private stack cannot start here (None when it can)."""
    if not Path(PCSCD).exists() or not Path(VPCD_DRIVER).exists():
        return (
            f"pcscd と仮想リーダー(vpcd)がありません(root で apt-get install {' '.join(PACKAGES)})"
        )
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "専用の pcscd を起動するには root と unshare が必要です"
    return None


def install_if_missing() -> str | None:
    """Install the packages as root when missing; the reason when impossible."""
    reason = missing()
    if reason is None or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return reason
    import fcntl

    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Parallel test workers take turns: apt-get refuses to run twice at once.
    with open(Path(tempfile.gettempdir()) / "odekake-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if missing() is None:
            return None
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
            if done.returncode != 0:
                return f"pcscd を入れられません: {done.stderr.strip()[-200:]}"
    return missing()


def _free_port_pair() -> int:
    """A port p with p and p+1 free (vpcd opens two slots)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


class PrivateStack:
    """pcscd in its own mount namespace; ``socket_path`` and ``port`` for its clients."""

    def __init__(self, *, with_reader: bool = True, run_dir: Path | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="odekake-pcsc-"))
        os.chmod(self.dir, 0o700)
        self.port = _free_port_pair()
        # pcsc-lite reads PCSCLITE_CSOCK_NAME once per process: stacks started one
        # after the other in one process share a socket folder (run_dir).
        self.run_dir = run_dir or self.dir / "run"
        self.conf_dir = self.dir / "reader.conf.d"
        self.run_dir.mkdir(exist_ok=True)
        for name in ("pcscd.comm", "pcscd.pid"):  # left by a daemon that was killed
            (self.run_dir / name).unlink(missing_ok=True)
        self.conf_dir.mkdir()
        if with_reader:
            self._write_reader_conf()
        self.socket_path = self.run_dir / "pcscd.comm"
        self.log_path = self.dir / "pcscd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.debug = os.environ.get("ODEKAKE_PCSCD_DEBUG", "")

    def _write_reader_conf(self) -> None:
        (self.conf_dir / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\n'
            f"DEVICENAME   /dev/null:0x{self.port:04X}\n"
            f"LIBPATH      {VPCD_DRIVER}\n"
            f"CHANNELID    0x{self.port:04X}\n"
        )

    def start(self, *, wait: float = 10.0) -> PrivateStack:
        script = (
            f"mkdir -p /run/pcscd && mount --bind '{self.run_dir}' /run/pcscd "
            f"&& exec {PCSCD} --foreground {self.debug} --config '{self.conf_dir}'"
        )
        log = open(self.log_path, "wb")  # noqa: SIM115 - the daemon writes to it until stop()
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + wait
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pcscd did not start: {self.log_path.read_text()[-300:]}")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        """The daemon's socket accepts a connection (a file alone may be stale)."""
        if not self.socket_path.exists():
            return False
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket_path))
            except OSError:
                return False
        return True

    @property
    def environ(self) -> dict[str, str]:
        return {"PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        for name in ("pcscd.comm", "pcscd.pid"):
            (self.run_dir / name).unlink(missing_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)
