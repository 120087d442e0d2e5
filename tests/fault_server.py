"""A real loopback HTTP server that misbehaves on purpose: stalls, resets, drips, floods, lies.

Each connection carries one request and is answered according to ``mode``, which a test may
change between calls (a failing server that recovers). The server counts the connections and
requests it saw, so a test can prove that a call never reached it.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

from tests.builders import searchset

Mode = Literal[
    "ok",  # 200 with the Bundle for the searched resource type, after ``delay`` seconds
    "hang",  # read the request, never answer
    "reset",  # read the request, then close with a TCP reset (SO_LINGER 0)
    "401",
    "500",
    "503",
    "not-json",  # 200 with an HTML page
    "not-bundle",  # 200 with JSON that is a Patient, not a Bundle
    "truncated",  # 200 with half a Bundle, correctly framed
    "drip",  # valid headers, then one byte of the body every ``drip_interval`` seconds
    "drip-headers",  # the status line and headers themselves, a byte at a time
    "oversize",  # 200 declaring and sending a body of ``oversize_bytes``
    "oversize-chunked",  # 200 chunked, no Content-Length, streaming ``oversize_bytes``
]

_POLL = 0.02


class FaultServer:
    """``with FaultServer("hang") as server: ... server.url ...``; closed (and joined) on exit."""

    def __init__(
        self,
        mode: Mode = "ok",
        *,
        bodies: Mapping[str, Any] | None = None,
        delay: float = 0.0,
        drip_interval: float = 0.05,
        drip_for: float = 30.0,
        oversize_bytes: int = 64 * 1024,
    ) -> None:
        self.mode: Mode = mode
        # Resource type searched (the path's last segment) -> the JSON answered in "ok" mode.
        self.bodies = dict(bodies or {})
        self.delay = delay
        self.drip_interval = drip_interval
        self.drip_for = drip_for
        self.oversize_bytes = oversize_bytes
        self.connections = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="fault-accept", daemon=True)

    @property
    def url(self) -> str:
        """The FHIR base URL to give as ``fhirServer``."""
        return f"http://127.0.0.1:{self.port}/fhir"

    @property
    def open_connections(self) -> int:
        """Connections still being answered (a drip ends when the client closes its socket)."""
        return sum(thread.is_alive() for thread in list(self._threads))

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.paths)

    def __enter__(self) -> FaultServer:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._acceptor.is_alive():
            self._acceptor.join()
        for thread in list(self._threads):
            thread.join()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            path = self._read_request(conn)
            if path is None:
                conn.close()
                return
            with self._lock:
                self.paths.append(path)
            self._answer(conn, path, self.mode)
        except OSError:
            pass  # the client gave up on us: exactly what these faults provoke
        finally:
            conn.close()

    def _read_request(self, conn: socket.socket) -> str | None:
        conn.settimeout(_POLL)
        data = b""
        while b"\r\n\r\n" not in data:
            if self._stop.is_set():
                return None
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                return None
            data += chunk
        request_line = data.split(b"\r\n", 1)[0].decode("latin-1")
        return request_line.split(" ")[1] if " " in request_line else "/"

    def _wait(self, seconds: float) -> bool:
        """Sleep, unless the server is closing; True if it is."""
        return self._stop.wait(seconds)

    def _answer(self, conn: socket.socket, path: str, mode: Mode) -> None:
        if mode == "hang":
            self._stop.wait()
        elif mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode in ("401", "500", "503"):
            _send(conn, int(mode), b'{"resourceType": "OperationOutcome"}')
        elif mode == "not-json":
            _send(conn, 200, b"<html><body>Gateway</body></html>", "text/html")
        elif mode == "not-bundle":
            _send(conn, 200, json.dumps({"resourceType": "Patient", "id": "p1"}).encode())
        elif mode == "truncated":
            whole = json.dumps(self._body(path)).encode()
            _send(conn, 200, whole[: len(whole) // 2])
        elif mode == "drip":
            # 1000 bytes: under any size limit, and 50 s long at one byte per 50 ms.
            conn.sendall(_head(200, 1000))
            self._drip(conn, b" " * 1000)
        elif mode == "drip-headers":
            self._drip(conn, _head(200, 2) + b"{}")
        elif mode == "oversize":
            _send(conn, 200, b" " * self.oversize_bytes)
        elif mode == "oversize-chunked":
            conn.sendall(_head(200, None))
            chunk = b"%x\r\n%s\r\n" % (8192, b" " * 8192)
            for _ in range(self.oversize_bytes // 8192):
                conn.sendall(chunk)
            conn.sendall(b"0\r\n\r\n")
        else:
            if self.delay and self._wait(self.delay):
                return
            _send(conn, 200, json.dumps(self._body(path)).encode())

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        ends = time.monotonic() + self.drip_for
        for byte in data:
            if time.monotonic() >= ends or self._wait(self.drip_interval):
                return
            conn.sendall(bytes([byte]))

    def _body(self, path: str) -> Any:
        resource_type = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return self.bodies.get(resource_type, searchset())


def _head(status: int, length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"HTTP/1.1 {status} Fault\r\nContent-Type: application/fhir+json\r\n{framing}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def _send(conn: socket.socket, status: int, body: bytes, content_type: str = "") -> None:
    head = _head(status, len(body))
    if content_type:
        head = head.replace(b"application/fhir+json", content_type.encode())
    conn.sendall(head + body)
