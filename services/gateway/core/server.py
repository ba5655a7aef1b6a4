"""The gateway's HTTP server: nameko's eventlet WSGI server, with limits a public front door needs.

nameko's own WebServer reads whatever a client sends for as long as it likes: no bound on the
number of connections, no read timeout, keep-alive connections held forever. This subclass keeps
nameko's server (the entrypoints, the workers and their context stay as they are) and sets what
eventlet's `wsgi.Server` can be told (GATEWAY.LIMITS, docs/SECURITY.md):

- `READ_TIMEOUT_SECONDS`: every read from a client (headers or body) must bring data within this
  time, or the connection is closed (the handler, services.gateway.core.security, also reads the
  whole body within it before the route runs, or answers 408);
- `HEADER_TIMEOUT_SECONDS`: the whole header block must have arrived within this time (a read
  timeout alone lets a client keep a connection by trickling a byte at a time);
- `KEEPALIVE_SECONDS`: an idle keep-alive connection is closed after this long;
- `MAX_CONNECTIONS`: connections served at once; further ones wait in the listen backlog until
  one is closed;
- `MAX_BODY_BYTES` (per route: `@http(..., max_body=...)`) is enforced by the handler
  (services.gateway.core.security), which answers 413 from the Content-Length before reading the body
  and closes the connection through `CLOSE_CONNECTION`, so the body is never read, not even to
  discard it.

The access log names no secret: the request line is logged with services.gateway.core.urls.masked.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from logging import getLogger

import eventlet
from eventlet import wsgi
from eventlet.semaphore import Semaphore
from nameko.web.server import HttpOnlyProtocol, WebServer

from services.gateway.core.urls import masked_request_line

log = getLogger(__name__)

# environ key of a callable: close the connection after this answer (no keep-alive, no discarding)
CLOSE_CONNECTION = "gateway.close_connection"
DEFAULT_LIMITS = {
    "MAX_BODY_BYTES": 1024 * 1024,
    "HEADER_TIMEOUT_SECONDS": 10,
    "READ_TIMEOUT_SECONDS": 30,
    "KEEPALIVE_SECONDS": 5,
    "MAX_CONNECTIONS": 1000,
}


@dataclass(frozen=True)
class Limits:
    max_body: int
    header_timeout: float
    read_timeout: float
    keepalive: float
    max_connections: int


def limits_from_config(config: dict) -> Limits:
    """GATEWAY.LIMITS with the defaults for what is missing; a value that is not a positive
    number is a configuration error (a limit must never silently turn off)."""
    given = {**DEFAULT_LIMITS, **{k: v for k, v in ((config.get("GATEWAY") or {}).get("LIMITS") or {}).items()
                                   if v not in (None, "")}}
    values = {}
    for name, value in given.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 0
        if number <= 0:
            raise ValueError(f"GATEWAY.LIMITS.{name} must be a positive number, not {value!r}")
        values[name] = number
    return Limits(
        max_body=int(values["MAX_BODY_BYTES"]),
        header_timeout=values["HEADER_TIMEOUT_SECONDS"],
        read_timeout=values["READ_TIMEOUT_SECONDS"],
        keepalive=values["KEEPALIVE_SECONDS"],
        max_connections=int(values["MAX_CONNECTIONS"]),
    )


class GatewayProtocol(HttpOnlyProtocol):
    """eventlet's HTTP protocol with a deadline on the header block and a masked access log."""

    def parse_request(self):
        try:
            with eventlet.Timeout(self.server.header_timeout):
                return super().parse_request()
        except eventlet.Timeout:
            self.close_connection = 1
            return False

    def get_environ(self):
        environ = super().get_environ()
        environ[CLOSE_CONNECTION] = self._close_after_answer
        return environ

    def _close_after_answer(self) -> None:
        self.close_connection = 1

    def handle_one_response(self):
        # the access log line (written at the end of this) shows the request line masked
        self.requestline = masked_request_line(self.requestline)
        return super().handle_one_response()


class GatewayWebServer(WebServer):
    """nameko's WebServer with GATEWAY.LIMITS (see the module's doc)."""

    def setup(self):
        self.limits = limits_from_config(self.container.config)
        self._slots = Semaphore(self.limits.max_connections)

    def get_wsgi_server(self, sock, wsgi_app, protocol=GatewayProtocol, debug=False):
        server = wsgi.Server(
            sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=debug, log=getLogger("nameko.web.server"),
            keepalive=self.limits.keepalive, socket_timeout=self.limits.read_timeout,
        )
        server.header_timeout = self.limits.header_timeout
        return server

    def run(self):
        while self._is_accepting:
            self._slots.acquire()  # at the cap: the next client waits in the listen backlog
            try:
                sock, address = self._sock.accept()
            except BaseException:
                self._slots.release()
                raise
            sock.settimeout(self._serv.socket_timeout)
            self.container.spawn_managed_thread(partial(self._serve, sock, address))

    def _serve(self, sock, address) -> None:
        try:
            self.process_request(sock, address)
        finally:
            sock.close()
            self._slots.release()
