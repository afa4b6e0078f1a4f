"""Poll now: ``offerwatch sync`` asks the running service to poll at once over a Unix socket.

Why a socket and not a signal: a signal can wake the service but cannot carry its answer
back, and ``sync`` must print what the poll found. The socket lives next to the database
(``<database>.service.sock``), is chmod 0600 right after bind (only the owner can ask), and
speaks one line each way: ``poll`` in, a JSON report out.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)
#: How long ``sync`` waits for the service's report by default (a poll over many accounts is slow).
DEFAULT_TIMEOUT = 120.0
#: How long the service waits for a connected client's one-line request.
REQUEST_READ_TIMEOUT = 10.0


class PollNowError(Exception):
    """The service did not answer (timeout, crashed, or answered garbage)."""


def socket_path(database: Path) -> Path:
    """The socket beside the database, by its resolved path (``run --db x.db`` and ``sync`` from
    another directory or through a symlink name the same socket)."""
    resolved = Path(database).expanduser().resolve()
    return resolved.with_name(resolved.name + ".service.sock")


class PollNowServer:
    """A thread answering ``poll`` requests with ``poll_fn()``'s report (a JSON-able dict)."""

    def __init__(self, database: Path, poll_fn: Callable[[], dict[str, Any]]) -> None:
        self.path = socket_path(database)
        self.poll_fn = poll_fn
        self._server: socketserver.UnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Bind and serve; False (and one log line) when the socket cannot be made."""
        poll_fn = self.poll_fn

        class Handler(socketserver.StreamRequestHandler):
            timeout = REQUEST_READ_TIMEOUT  # a client that connects and says nothing holds no thread

            def handle(self) -> None:
                try:
                    line = self.rfile.readline(64).strip()
                except OSError as err:
                    log.debug("poll-now: no request read (%s)", err)
                    return
                if not line:
                    return  # a probe (service_listening) or a client that gave up at once
                if line != b"poll":
                    self._answer({"ok": False, "error": "unknown request"})
                    return
                try:
                    answer = {"ok": True, **poll_fn()}
                except Exception as err:  # noqa: BLE001 - the caller must hear why, the service goes on
                    log.exception("poll-now request failed")
                    answer = {"ok": False, "error": str(err)}
                self._answer(answer)

            def _answer(self, answer: dict[str, Any]) -> None:
                try:
                    self.wfile.write(json.dumps(answer).encode() + b"\n")
                except OSError as err:  # 'offerwatch sync' stopped waiting (--timeout, Ctrl-C)
                    log.info("the poll requested by 'offerwatch sync' is done, but it stopped waiting (%s)", err)

        try:
            if self.path.is_socket():
                self.path.unlink()  # a stale socket of a crashed service: we hold the database lock now
            self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
            os.chmod(self.path, 0o600)
        except OSError as err:
            log.warning("poll-now socket %s unavailable (%s): 'offerwatch sync' cannot ask this service to poll",
                        self.path, err)
            return False
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="offerwatch-pollnow", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        self._server = None


def service_listening(database: Path) -> bool:
    """Whether a service answers on the socket (connect succeeds); a stale file is not one."""
    path = socket_path(database)
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.settimeout(2.0)
            s.connect(str(path))
        except OSError:
            return False
    return True


def request_poll(database: Path, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Ask the service to poll now and return its report; PollNowError when it does not answer."""
    path = socket_path(database)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            s.sendall(b"poll\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            raise PollNowError(f"the running service did not answer within {timeout:.0f} s; it keeps polling on "
                               f"its schedule (see 'offerwatch status'), or retry with a longer --timeout") from None
        except OSError as err:
            raise PollNowError(f"could not reach the running service at {path}: {err}; "
                               "check 'offerwatch status'") from err
    try:
        answer = json.loads(data)
    except ValueError:
        raise PollNowError("the running service closed the connection without a report; "
                           "check its log ('offerwatch status')") from None
    if not answer.get("ok"):
        raise PollNowError(f"the running service could not poll: {answer.get('error', 'unknown error')}")
    return answer
