"""A tiny loopback TCP proxy that cuts connections at chosen byte counts."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class Cut:
    """Cut one connection after ``after`` bytes flowing ``direction``.

    ``"up"`` is client → hub (the request is cut mid-way: the hub stores nothing);
    ``"down"`` is hub → client (the hub has committed, the answer is lost).
    """

    direction: str
    after: int
    once_up: int = 0  # count only bytes flowing after this many request bytes went up


@dataclass
class CuttingProxy:
    """Forward 127.0.0.1:port → upstream; the n-th connection obeys ``cuts[n]``."""

    upstream: int
    cuts: list[Cut]
    port: int = 0
    connections: int = 0
    done_cuts: int = 0
    _sock: socket.socket = field(init=False)
    _threads: list[threading.Thread] = field(default_factory=list)
    _open: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> CuttingProxy:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            cut = self.cuts[self.connections] if self.connections < len(self.cuts) else None
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            self._open += [client, upstream]
            sent = {"up": 0, "down": 0}
            for src, dst, direction in ((client, upstream, "up"), (upstream, client, "down")):
                mine = cut if cut is not None and cut.direction == direction else None
                t = threading.Thread(
                    target=self._pump,
                    args=(src, dst, direction, mine, sent, client, upstream),
                    daemon=True,
                )
                t.start()
                self._threads.append(t)

    def _pump(
        self,
        src: socket.socket,
        dst: socket.socket,
        direction: str,
        cut: Cut | None,
        sent: dict[str, int],
        a: socket.socket,
        b: socket.socket,
    ) -> None:
        counted = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if cut is not None and sent["up"] >= cut.once_up:
                    if counted + len(data) >= cut.after:
                        dst.sendall(data[: cut.after - counted])
                        self.done_cuts += 1
                        break
                    counted += len(data)
                dst.sendall(data)
                sent[direction] += len(data)
        except OSError:
            pass
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for s in self._open:
            with contextlib.suppress(OSError):
                s.close()
