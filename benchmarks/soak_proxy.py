"""A loopback HTTP proxy that misbehaves on purpose (the soak's network).

One proxy stands between one van and the hub. Each request it forwards obeys the
next mode of its script (``pass`` when the script is empty):

- ``cut``: the connection is closed before anything reaches the hub;
- ``delay``: the request waits ``delay_s`` before it is forwarded;
- ``drop``: the hub gets the request and answers (it committed), the answer is lost;
- ``duplicate``: the hub gets the request twice; the van sees the first answer;
- ``reorder``: the hub gets this request, then the van's previous request again (a
  stale request arriving after a newer one); the van sees this request's answer;
- ``kill_hub``: the hub gets the request and is killed (``on_kill``) before it answers.

While ``offline`` is set every connection is cut (the van is out of range). Every
answer the hub gave is kept by status, so the soak can count 5xx answers.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import IO

MODES = ("pass", "cut", "delay", "drop", "duplicate", "reorder", "kill_hub")


def read_message(stream: IO[bytes]) -> bytes | None:
    """One HTTP/1.1 message (head and a Content-Length body); None at end of stream."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline(65536)
        if not line:
            return None
        head += line
        if len(head) > 65536:
            return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = stream.read(length) if length else b""
    return head + body


class FaultProxy:
    """Forward 127.0.0.1:port to the hub on 127.0.0.1:upstream, obeying a script."""

    def __init__(self, upstream: int, *, on_kill: Callable[[], None], delay_s: float = 0.3) -> None:
        self.upstream = upstream
        self.on_kill = on_kill
        self.delay_s = delay_s
        self.script: list[str] = []
        self.offline = False
        self.done: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self._last: bytes | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def close(self) -> None:
        """Stop accepting and wait for the accept loop to end."""
        self._stop.set()
        self._threads[0].join(timeout=5)
        self._sock.close()

    def _next_mode(self, request: bytes) -> str:
        """The script's next mode; the hub is killed only in the middle of a push."""
        with self._lock:
            if not self.script:
                return "pass"
            for i, mode in enumerate(self.script):
                if mode != "kill_hub" or request.startswith(b"POST /v1/push"):
                    return self.script.pop(i)
            return "pass"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.offline:
                self.done["cut"] += 1
                client.close()
                continue
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()

    def _ask_hub(self, request: bytes, *, kill: bool = False) -> bytes | None:
        try:
            with socket.create_connection(("127.0.0.1", self.upstream), timeout=30) as up:
                up.sendall(request)
                if kill:
                    time.sleep(0.02)  # the hub is reading / committing the request
                    self.on_kill()
                    return None
                with up.makefile("rb") as stream:
                    answer = read_message(stream)
        except OSError:
            return None
        if answer is not None:
            with contextlib.suppress(ValueError, IndexError):
                self.statuses[int(answer.split(b" ", 2)[1])] += 1
        return answer

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(30)
        try:
            with client, client.makefile("rb") as stream:
                while not self._stop.is_set():
                    request = read_message(stream)
                    if request is None:
                        return
                    mode = self._next_mode(request)
                    self.done[mode] += 1
                    if mode == "cut" or self.offline:
                        return
                    if mode == "delay":
                        time.sleep(self.delay_s)
                    previous, self._last = self._last, request
                    if mode == "kill_hub":
                        self._ask_hub(request, kill=True)
                        return
                    answer = self._ask_hub(request)
                    if mode == "duplicate":
                        self._ask_hub(request)
                    if mode == "reorder" and previous is not None:
                        self._ask_hub(previous)
                    if answer is None or mode == "drop":
                        return
                    client.sendall(answer)
        except OSError:
            return
