"""A loopback TCP proxy that a test controls: forward, cut every connection, refuse.

It sits between the code under test and a real server (Dovecot) so a test can break the
connection at a chosen point of the conversation, which a server cannot be asked to do::

    with TcpProxy(dovecot.host, dovecot.imaps_port) as proxy:
        # point the client at proxy.port, then:
        proxy.cut_after(20_000, after_request=b"BODY.PEEK[]")  # mid-FETCH, once
        ...
        assert proxy.cuts == 1

* :meth:`TcpProxy.cut_after` arms a cut: once ``nbytes`` more bytes went from the server
  to the client (counted from the moment a client line containing ``after_request`` was
  forwarded, when given), the chunk in flight is forwarded only up to that byte and every
  live connection is closed (with a TCP reset when ``reset``). Armed ``times`` times.
* :meth:`TcpProxy.cut_all` closes every live connection now.
* :meth:`TcpProxy.refuse` closes the listening socket, so new connections are refused
  (``ECONNREFUSED``) until :meth:`TcpProxy.accept` opens it again on the same port.

TLS passes through untouched (the proxy only copies bytes), so implicit TLS and
certificate checks work through it as they do against the server itself.
"""

from __future__ import annotations

import logging
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_CHUNK = 65536


@dataclass
class _Trigger:
    nbytes: int
    after_request: bytes | None
    times: int
    reset: bool
    started: bool = False
    remaining: int = 0


class _Pair:
    """One proxied connection: the client's socket and ours to the server."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = False

    def close(self, reset: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for s in (self.client, self.upstream):
            try:
                if reset:  # SO_LINGER 0: close sends RST instead of FIN
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class TcpProxy:
    """Forward ``127.0.0.1:port`` to ``target_host:target_port`` until :meth:`stop`."""

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = port
        self.connections = 0  # accepted so far
        self.cuts = 0
        self.bytes_down = 0  # server -> client
        self.bytes_up = 0  # client -> server
        self._lock = threading.RLock()
        self._pairs: list[_Pair] = []
        self._triggers: list[_Trigger] = []
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cut_event = threading.Event()

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._listen()
        t = threading.Thread(target=self._accept_loop, name="tcpproxy-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.refuse()
        self.cut_all(count=False)
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(64)
        s.settimeout(0.05)
        self.port = s.getsockname()[1]
        with self._lock:
            self._listener = s

    # -- control --------------------------------------------------------------------------

    def cut_after(self, nbytes: int, *, after_request: bytes | None = None, times: int = 1, reset: bool = False) -> None:
        """Arm a cut after ``nbytes`` more server->client bytes (see the module docstring)."""
        with self._lock:
            self._cut_event.clear()
            self._triggers.append(_Trigger(nbytes, after_request, times, reset, started=after_request is None,
                                           remaining=nbytes))

    def disarm(self) -> None:
        with self._lock:
            self._triggers.clear()

    def cut_all(self, reset: bool = False, *, count: bool = True) -> int:
        """Close every live connection now; returns how many were cut."""
        with self._lock:
            pairs, self._pairs = [p for p in self._pairs if not p.closed], []
            if count and pairs:
                self.cuts += 1
                self._cut_event.set()
        for p in pairs:
            p.close(reset)
        return len(pairs)

    def wait_cut(self, timeout: float = 10.0) -> bool:
        return self._cut_event.wait(timeout)

    def refuse(self) -> None:
        """Stop listening: new connections get ECONNREFUSED. Live ones are left alone."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def accept(self) -> None:
        """Listen again (same port) after :meth:`refuse`."""
        with self._lock:
            if self._listener is not None:
                return
        self._listen()

    @property
    def live(self) -> int:
        with self._lock:
            return sum(not p.closed for p in self._pairs)

    # -- forwarding -----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:  # closed by refuse()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError as exc:
                logger.debug("tcpproxy: upstream %s unreachable: %s", self.target, exc)
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            pair = _Pair(client, upstream)
            with self._lock:
                self.connections += 1
                self._pairs.append(pair)
            t = threading.Thread(target=self._pump, args=(pair,), name="tcpproxy-pump", daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _pump(self, pair: _Pair) -> None:
        sel = selectors.DefaultSelector()
        try:
            sel.register(pair.client, selectors.EVENT_READ, "up")
            sel.register(pair.upstream, selectors.EVENT_READ, "down")
        except (ValueError, OSError):
            pair.close()
            return
        try:
            while not pair.closed and not self._stop.is_set():
                for key, _ in sel.select(timeout=0.1):
                    if pair.closed:
                        break
                    src = key.fileobj
                    dst = pair.upstream if key.data == "up" else pair.client
                    try:
                        data = src.recv(_CHUNK)  # type: ignore[union-attr]
                    except OSError:
                        data = b""
                    if not data:
                        pair.close()
                        break
                    if key.data == "up":
                        self._note_request(data)
                        with self._lock:
                            self.bytes_up += len(data)
                        if not self._send(dst, data, pair):
                            break
                    else:
                        keep, cut, reset = self._downstream(len(data))
                        if keep and not self._send(dst, data[:keep], pair):
                            break
                        if cut:
                            logger.debug("tcpproxy: cutting every connection")
                            self.cut_all(reset)
                            break
        finally:
            sel.close()
            pair.close()

    def _send(self, dst: socket.socket, data: bytes, pair: _Pair) -> bool:
        try:
            dst.sendall(data)
            return True
        except OSError:
            pair.close()
            return False

    def _note_request(self, data: bytes) -> None:
        with self._lock:
            for t in self._triggers:
                if not t.started and t.after_request is not None and t.after_request in data:
                    t.started = True
                    t.remaining = t.nbytes

    def _downstream(self, n: int) -> tuple[int, bool, bool]:
        """How many of ``n`` bytes to forward, and whether to cut after them."""
        with self._lock:
            self.bytes_down += n
            for t in self._triggers:
                if not t.started:
                    continue
                if n < t.remaining:
                    t.remaining -= n
                    continue
                keep = t.remaining
                t.times -= 1
                if t.times <= 0:
                    self._triggers.remove(t)
                else:
                    t.started = t.after_request is None
                    t.remaining = t.nbytes
                return keep, True, t.reset
            return n, False, False
