"""What the gateway writes of a request's own URL: links that cannot leave the site, and log
lines that carry none of the secrets URLs hold (cancel and survey tokens, invitation codes,
staff search terms)."""
from __future__ import annotations

import re
from urllib.parse import quote

MASK = "***"
# path segments that are credentials: the cancel link's token, the survey link's token
_SECRET_SEGMENT = re.compile(r"^((?:[a-z]+://[^/]*)?(?:/api)?/(?:registrations|evaluations)/)[^/?#\s]+", re.I)
# query values: all masked (search terms, invitation codes, tokens) but the language
_QUERY_VALUE = re.compile(r"(^|&)([^=&]*)=([^&]*)")
_KEPT_QUERY = frozenset({"lang"})
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def site_path(path: str) -> str:
    """`path` (a request's decoded path) as a link on this site: one leading slash, every
    character outside a path's plain set percent-encoded. `/\\evil.example` and `//evil.example`,
    which a browser reads as another host, both become `/evil.example`."""
    return "/" + quote(re.sub(r"/{2,}", "/", path.lstrip("/\\")), safe=_PATH_SAFE)


def masked(target: str) -> str:
    """A request target (path and query, as sent) fit for a log: secret path segments and every
    query value but `lang` replaced by ***."""
    path, sep, query = target.partition("?")
    path = _SECRET_SEGMENT.sub(lambda m: m.group(1) + MASK, path)
    if sep:
        query = _QUERY_VALUE.sub(
            lambda m: m.group(0) if m.group(2) in _KEPT_QUERY else f"{m.group(1)}{m.group(2)}={MASK}", query)
    return path + sep + query


def masked_request_line(line: str) -> str:
    """`GET /registrations/<token>/cancel?lang=en HTTP/1.1` as the access log may show it."""
    parts = line.split(" ")
    if len(parts) >= 2:
        parts[1] = masked(parts[1])
    return " ".join(parts)
