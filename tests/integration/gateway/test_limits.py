"""The gateway's size and time limits (GATEWAY.LIMITS), tried on its real sockets: an oversized
body is refused before it is read, a client that stops or trickles halfway through its headers or
its body, or sits idle on a keep-alive connection, is disconnected, and connections beyond the
cap wait their turn."""
from __future__ import annotations

import socket
import time

import pytest
import requests

MIB = 1024 * 1024
DECLARED = 400 * MIB
SHORT = 1  # seconds: the timeouts this test configures
GENEROUS = 30  # seconds: an upper bound no healthy server comes near, even on a busy machine


def rss_bytes() -> int:
    """Resident memory of this process, which runs the gateway."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.fixture
def gateway(gateway_config, request):
    gateway_config["GATEWAY"]["LIMITS"] = {
        "MAX_BODY_BYTES": MIB, "READ_TIMEOUT_SECONDS": SHORT, "HEADER_TIMEOUT_SECONDS": SHORT,
        "KEEPALIVE_SECONDS": SHORT, "MAX_CONNECTIONS": 2}
    return request.getfixturevalue("gateway_alone")


def connect(address) -> socket.socket:
    return socket.create_connection(address, timeout=GENEROUS)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_an_oversized_body_gets_413_before_it_is_read_and_the_gateway_does_not_grow(gateway):
    before = rss_bytes()
    with connect(gateway) as sock:
        sock.sendall(b"POST /api/requests HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % DECLARED)
        # not a byte of the body sent yet: the answer comes from the headers alone, and the connection closes
        answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"payload_too_large" in answer
        # the client sends its body anyway: the gateway has closed the connection and reads none of it
        sent = 0
        chunk = b"x" * MIB
        try:
            while sent < DECLARED:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < DECLARED
    assert rss_bytes() - before < 64 * MIB, (before, rss_bytes())


def test_a_body_within_the_limit_still_reaches_its_route(gateway, gateway_url):
    answer = requests.post(f"{gateway_url}/api/requests", data=b"{" + b" " * (MIB // 2) + b"}",
                           headers={"Content-Type": "application/json"}, timeout=GENEROUS)
    assert answer.status_code not in (411, 413), answer.text  # the route's own answer (its service is not running)


def test_a_body_of_unknown_length_is_refused(gateway):
    with connect(gateway) as sock:
        sock.sendall(b"POST /api/requests HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 411 ")


def test_a_client_that_stops_halfway_through_its_headers_is_disconnected(gateway):
    with connect(gateway) as sock:
        sock.sendall(b"GET /privacy HTTP/1.1\r\nHost: gateway\r\n")  # ... and never the blank line
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        assert time.monotonic() - started < GENEROUS


def test_a_client_that_trickles_its_headers_is_disconnected_at_the_header_deadline(gateway):
    with connect(gateway) as sock:
        sock.sendall(b"GET /privacy HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        # a byte every half read-timeout keeps every single read in time; the header deadline does not wait
        while time.monotonic() - started < GENEROUS:
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sock.settimeout(SHORT / 2)
            try:
                if sock.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed = True
                break
        assert closed


def test_an_idle_keep_alive_connection_is_closed(gateway):
    with connect(gateway) as sock:
        sock.sendall(b"GET /privacy HTTP/1.1\r\nHost: gateway\r\n\r\n")
        received = read_until_closed(sock)  # the answer, then the close once the connection idles
        assert received.startswith(b"HTTP/1.1 200 "), received[:200]
        assert b"Connection: close" not in received  # kept alive after the answer, closed only for idling


def test_connections_beyond_the_cap_wait_until_one_is_freed(gateway):
    held = [connect(gateway) for _ in range(2)]
    for sock in held:
        sock.sendall(b"GET /privacy HTTP/1.1\r\n")  # both slots taken by clients that stall
    try:
        with connect(gateway) as third:  # accepted by the kernel's backlog, served only when a slot frees
            third.sendall(b"GET /privacy HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
            answer = read_until_closed(third)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            # by the time the third was served, the gateway had dropped at least one stalled client
            closed = 0
            for sock in held:
                sock.settimeout(0.01)
                try:
                    closed += sock.recv(1) == b""
                except TimeoutError:
                    pass
                except ConnectionResetError:
                    closed += 1
            assert closed >= 1
    finally:
        for sock in held:
            sock.close()


def test_an_oversized_form_gets_a_413_page_in_the_visitor_s_language(gateway):
    with connect(gateway) as sock:
        sock.sendall(b"POST /requests/new?lang=en HTTP/1.1\r\nHost: gateway\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % DECLARED)
        answer = read_until_closed(sock).decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413 "), answer[:200]
    assert "text/html" in answer and "Too much text" in answer


def test_a_client_that_stops_halfway_through_its_body_is_disconnected(gateway):
    with connect(gateway) as sock:
        sock.sendall(b"POST /api/requests HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"name\": ")  # ... and never the rest
        started = time.monotonic()
        answer = read_until_closed(sock)
        assert time.monotonic() - started < GENEROUS
    assert answer.startswith(b"HTTP/1.1 408 ") and b"request_timeout" in answer, answer[:300]


def test_a_client_that_trickles_its_body_is_cut_off_at_the_body_deadline(gateway):
    with connect(gateway) as sock:
        sock.sendall(b"POST /api/requests HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n")
        started = time.monotonic()
        answer = b""
        # a byte every half read-timeout keeps every single read in time; the body's deadline does not wait
        while time.monotonic() - started < GENEROUS and not answer:
            try:
                sock.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(SHORT / 2)
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                pass
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
