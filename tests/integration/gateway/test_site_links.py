"""Links the gateway builds from a request's URL stay on the site (the language links of any page,
the "open the form again" link of a refusal), whatever the path held."""
from __future__ import annotations

import re
import socket
from urllib.parse import urljoin, urlsplit

HREF = re.compile(r'href="([^"]*)"')


def raw_get(address, target: str) -> str:
    """GET `target` exactly as written (a client library would normalise it first)."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n".encode("ascii"))
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received.decode("utf-8", "replace")


def test_a_path_that_names_another_host_gives_links_on_this_site(gateway_alone):
    for target in ("/%5Cevil.example", "//evil.example", "/%2F%2Fevil.example", "/%5C%5Cevil.example/x"):
        page = raw_get(gateway_alone, target)
        assert page.startswith("HTTP/1.1 404 "), page[:200]
        links = HREF.findall(page)
        language_links = [link for link in links if "lang=" in link]
        assert len(language_links) >= 3, links
        for link in links:
            # a browser reads a backslash as a slash: /\\evil.example is //evil.example, another host
            assert "\\" not in link, link
            assert urlsplit(urljoin("http://gateway.test/page", link)).netloc == "gateway.test", link
