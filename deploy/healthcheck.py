"""Container health check.

    python deploy/healthcheck.py rpc <service>   # the service answers its `health` RPC
    python deploy/healthcheck.py http <url>      # the URL answers 200 (the gateway's /health)

Exit code 0 when healthy, 1 otherwise.
"""
from __future__ import annotations

import sys
import urllib.request
import warnings


def check_http(url: str) -> None:
    with urllib.request.urlopen(url, timeout=5) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")


def check_rpc(service: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nameko.standalone.rpc import ClusterRpcProxy

        from kernel.config import load_config

    config = load_config()
    with ClusterRpcProxy(config, timeout=5) as cluster:
        answer = getattr(cluster, service).health()
    if not answer:
        raise RuntimeError(f"{service} answered {answer!r}")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("rpc", "http"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, target = argv
    try:
        check_http(target) if kind == "http" else check_rpc(target)
    except Exception as error:  # any failure means unhealthy
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ".")
    sys.exit(main(sys.argv[1:]))
