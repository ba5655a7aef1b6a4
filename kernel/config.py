"""One configuration file (config.yml) with `${ENV:default}` overrides.

nameko's own CLI reads the same file the same way, so a service started with
`nameko run --config config.yml` and a command-line tool see identical values.
"""
from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = ROOT / "config.yml"
SERVICES = ("registration", "evaluation", "requests", "reporting", "notifications", "accounts")
# Years, months, windows and the times shown to people are the centre's (DESIGN.md).
CENTRE_TIMEZONE = ZoneInfo("Europe/Brussels")
DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000, 120000)
DEFAULT_ANSWER_WITHIN_WORKING_DAYS = 5


def load_config(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read config.yml (or `path`, or $PLATFORM_CONFIG), resolving ${ENV:default}."""
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    path = Path(path or os.environ.get("PLATFORM_CONFIG") or DEFAULT_CONFIG_PATH)
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def database_url(config: dict, service: str) -> str:
    try:
        return config["DATABASES"][service]
    except KeyError:
        raise KeyError(f"config has no DATABASES.{service} URL") from None


def events_setting(config: dict, key: str, default: Any) -> Any:
    value = (config.get("EVENTS") or {}).get(key)
    return default if value is None else value


def retry_delays_ms(config: dict) -> tuple[int, ...]:
    return tuple(int(d) for d in events_setting(config, "RETRY_DELAYS_MS", DEFAULT_RETRY_DELAYS_MS))


def queue_type(config: dict) -> str:
    return str(events_setting(config, "QUEUE_TYPE", "classic"))


def batch_consumer_priority(config: dict) -> int:
    return int(events_setting(config, "BATCH_CONSUMER_PRIORITY", 0))


def answer_within_working_days(config: dict) -> int:
    """REQUESTS.ANSWER_WITHIN_WORKING_DAYS: the promise made to every requester (requests keeps it,
    notifications and the gateway state it)."""
    value = (config.get("REQUESTS") or {}).get("ANSWER_WITHIN_WORKING_DAYS")
    return DEFAULT_ANSWER_WITHIN_WORKING_DAYS if value in (None, "") else int(value)


_key_file_lock = threading.Lock()


def secret_key(config: dict, section: str, name: str, key_file: Path) -> bytes:
    """config[section][name], or (not configured: the embedded default) a random key kept in
    `key_file`, made on first use. Every instance that checks what the key signs must share it."""
    secret = str((config.get(section) or {}).get(name) or "").strip()
    if secret:
        return secret.encode("utf-8")
    with _key_file_lock:
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it just now
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return key_file.read_text().strip().encode("utf-8")
