"""Getting messages out: SMTP (pooled connections, TLS, authentication), chat webhooks, a send rate.

Failures are sorted into temporary ones (worth a retry: the server is down, says 4xx, the
connection broke) and permanent ones (the server refuses the address with 5xx, the webhook
answers 4xx): the service retries the first and gives up on the second at once.
"""
from __future__ import annotations

import logging
import queue
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import Message

import requests

log = logging.getLogger(__name__)


class DeliveryFailure(Exception):
    permanent = False


class TemporaryFailure(DeliveryFailure):
    """Worth trying again later."""


class PermanentFailure(DeliveryFailure):
    """Trying again will not help (e.g. the address does not exist)."""

    permanent = True


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _list(value) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item or "").strip()]


@dataclass(frozen=True)
class Settings:
    """The NOTIFICATIONS section of config.yml."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_tls: str = "none"  # none | starttls | ssl
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 10.0
    smtp_connections: int = 4
    mail_from: str = "Steunpunt <noreply@steunpunt.invalid>"
    send_rate_per_second: float = 0.0  # 0: no limit
    mail_capture: bool = True
    reminder_days_before: int = 3
    reminder_check_seconds: float = 300.0
    alert_emails: tuple[str, ...] = ()
    alert_webhook_urls: tuple[str, ...] = ()
    alert_dedup_seconds: float = 900.0
    alert_language: str = "nl"
    webhook_timeout: float = 10.0
    # overdue requests nobody has taken yet: the request desk (empty: alert_emails)
    request_desk_emails: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: dict) -> Settings:
        section = config.get("NOTIFICATIONS") or {}

        def get(key, default):
            value = section.get(key)
            return default if value is None or value == "" else value

        tls = str(get("SMTP_TLS", "none")).strip().lower()
        if tls in ("true", "1", "yes"):
            tls = "starttls"
        if tls in ("false", "0", "no", ""):
            tls = "none"
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError("NOTIFICATIONS.SMTP_TLS must be none, starttls or ssl")
        return cls(
            smtp_host=str(get("SMTP_HOST", cls.smtp_host)),
            smtp_port=int(get("SMTP_PORT", cls.smtp_port)),
            smtp_tls=tls,
            smtp_user=str(get("SMTP_USER", "")),
            smtp_password=str(get("SMTP_PASSWORD", "")),
            smtp_timeout=float(get("SMTP_TIMEOUT_SECONDS", cls.smtp_timeout)),
            smtp_connections=max(1, int(get("SMTP_CONNECTIONS", cls.smtp_connections))),
            mail_from=str(get("FROM", cls.mail_from)),
            send_rate_per_second=float(get("SEND_RATE_PER_SECOND", 0)),
            mail_capture=_truthy(get("MAIL_CAPTURE", True)),
            reminder_days_before=int(get("REMINDER_DAYS_BEFORE", cls.reminder_days_before)),
            reminder_check_seconds=float(get("REMINDER_CHECK_SECONDS", cls.reminder_check_seconds)),
            alert_emails=tuple(_list(get("ALERT_EMAILS", None))),
            alert_webhook_urls=tuple(_list(get("ALERT_WEBHOOK_URLS", None))),
            alert_dedup_seconds=float(get("ALERT_DEDUP_SECONDS", cls.alert_dedup_seconds)),
            alert_language=str(get("ALERT_LANGUAGE", cls.alert_language)),
            webhook_timeout=float(get("WEBHOOK_TIMEOUT_SECONDS", cls.webhook_timeout)),
            request_desk_emails=tuple(_list(get("REQUEST_DESK_EMAILS", None))),
        )

    @property
    def desk_emails(self) -> tuple[str, ...]:
        """Who hears of an overdue request that has no assignee: REQUEST_DESK_EMAILS, else ALERT_EMAILS."""
        return self.request_desk_emails or self.alert_emails


class RateLimiter:
    """At most `rate` sends per second over the whole process (token bucket, burst of one second)."""

    def __init__(self, rate: float):
        self.rate = float(rate)
        self._lock = threading.Lock()
        self._tokens = max(self.rate, 1.0)
        self._last = time.monotonic()

    def wait(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(max(self.rate, 1.0), self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                pause = (1 - self._tokens) / self.rate
            time.sleep(pause)


class SmtpMailer:
    """Sends through a small pool of open SMTP connections (reused: no handshake per message)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(settings.smtp_connections)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_tls == "ssl":
            connection = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                                          context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            if s.smtp_tls == "starttls":
                connection.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            connection.login(s.smtp_user, s.smtp_password)
        try:  # smtplib writes a message in pieces: without this, delayed ACKs stall each one ~40 ms
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (AttributeError, OSError):
            pass
        return connection

    def send(self, message: Message, to: str) -> None:
        with self._slots:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                connection = None
            try:
                if connection is None:
                    connection = self._connect()
                try:
                    connection.send_message(message, to_addrs=[to])
                except smtplib.SMTPServerDisconnected:
                    # an idle connection the server closed: once more on a fresh one
                    _quietly_close(connection)
                    connection = self._connect()
                    connection.send_message(message, to_addrs=[to])
            except Exception as exc:
                if connection is not None:
                    _quietly_close(connection)
                raise classify_smtp_error(exc) from exc
            self._idle.put(connection)

    def close(self) -> None:
        while True:
            try:
                _quietly_close(self._idle.get_nowait())
            except queue.Empty:
                return


def _quietly_close(connection) -> None:
    try:
        connection.quit()
    except Exception:  # noqa: BLE001
        try:
            connection.close()
        except Exception:  # noqa: BLE001
            pass


def _reply(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


_ADDRESS = re.compile(r"[^\s<>()\[\];:,\"']+@[^\s<>()\[\];:,\"']+")


def without_addresses(text: str) -> str:
    """An SMTP server's text with every e-mail address in it replaced (servers quote the refused
    recipient: the text is logged and stored in the notification log)."""
    return _ADDRESS.sub("<address>", text)


def classify_smtp_error(exc: Exception) -> DeliveryFailure:
    """A refused address or message (5xx) is permanent; everything else may pass on a later try.
    The failure's text names no e-mail address."""
    if isinstance(exc, DeliveryFailure):
        return exc
    failure = _classified(exc)
    return type(failure)(without_addresses(str(failure)))


def _classified(exc: Exception) -> DeliveryFailure:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        text = "; ".join(_reply(code, msg) for code, msg in replies)
        if replies and all(int(code) >= 500 for code, _ in replies):
            return PermanentFailure(f"recipient refused: {text}")
        return TemporaryFailure(f"recipient refused for now: {text}")
    if isinstance(exc, smtplib.SMTPDataError) and int(exc.smtp_code) >= 500:
        return PermanentFailure(f"message refused: {_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return TemporaryFailure(f"SMTP {_reply(exc.smtp_code, exc.smtp_error)}")
    return TemporaryFailure(f"{type(exc).__name__}: {exc}")


def post_webhook(url: str, payload: dict, timeout: float) -> None:
    """POST the JSON; 2xx is delivered, 4xx (but 408 and 429) is permanent, the rest temporary."""
    try:
        response = requests.post(url, json=payload, timeout=timeout)
    except requests.RequestException as exc:
        raise TemporaryFailure(f"webhook unreachable: {type(exc).__name__}") from exc
    if 200 <= response.status_code < 300:
        return
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise PermanentFailure(f"webhook refused: HTTP {response.status_code}")
    raise TemporaryFailure(f"webhook failed: HTTP {response.status_code}")
