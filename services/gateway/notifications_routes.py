"""The gateway's routes of the notifications service (issue 6), mixed into GatewayService.

- GET /api/staff/notifications: the message log (JSON; staff token);
- GET/POST /staff/login, POST /staff/logout: a small form that keeps the token (of any role) in
  an HttpOnly, SameSite=Strict cookie, so a browser can open the staff pages;
- GET /staff/mail and /staff/mail/<id>: mail the platform captured instead of sending
  (NOTIFICATIONS.MAIL_CAPTURE, the embedded default); an ops token: the mails hold participants'
  personal cancel and survey links;
- POST /api/alerts/alertmanager: Alertmanager's webhook (deploy/alertmanager/alertmanager.yml),
  with its own bearer token (AUTH.ALERTMANAGER_TOKEN_SHA256, not a staff token); the alerts go to
  notifications.relay_ops_alerts, which tells on-call once per alert and status.

Staff pages accept the token as `Authorization: Bearer` or as that cookie (services.gateway.auth);
without one they answer 401 with the sign-in form, with a token of another role 403.
"""
from __future__ import annotations

import logging
from datetime import datetime

from jinja2 import DictLoader, Environment, select_autoescape
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates
from werkzeug.wrappers import Response

from kernel.config import CENTRE_TIMEZONE
from kernel.inputs import load
from services.gateway.auth import (
    STAFF_COOKIE,
    InvalidTokenConfig,
    is_staff,
    parse_digests,
    require,
    token_roles,
)
from services.gateway.http import api, error_body, json_response, read_json_object
from services.gateway.security import allow_inline_styles, csrf_token, http

log = logging.getLogger(__name__)

COOKIE_PATH = "/"
COOKIE_MAX_AGE = 12 * 3600


class NotificationLogEntrySchema(Schema):
    """One outgoing message (notifications.list_notifications); no address once it went out."""

    notification_id = fields.String(required=True)
    template = fields.String(required=True)
    channel = fields.String(required=True, metadata={"enum": ["email", "webhook"]})
    recipient = fields.String(required=True, metadata={"description": "person:<id>, staff:<address> or webhook:<digest>"})
    person_id = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    cause_event_id = fields.String(allow_none=True)
    cause_event_type = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "sending", "sent", "failed", "dropped"]})
    attempts = fields.Integer(required=True)
    subject = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    sent_at = fields.String(allow_none=True)


# --- Alertmanager's webhook (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config) ---

ALERT_STATUSES = ("firing", "resolved")
_LABELS = {"keys": fields.String(validate=validate.Length(min=1, max=200)),
           "values": fields.String(validate=validate.Length(max=2000))}


class AlertmanagerAlertSchema(Schema):
    """One alert of the webhook (fields Alertmanager may add later are ignored)."""

    class Meta:
        unknown = EXCLUDE

    status = fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    labels = fields.Dict(required=True, validate=validate.Length(max=100), **_LABELS,
                         metadata={"description": "must hold alertname"})
    annotations = fields.Dict(load_default=dict, validate=validate.Length(max=100), **_LABELS)
    startsAt = fields.AwareDateTime(required=True, format="iso")
    endsAt = fields.AwareDateTime(load_default=None, allow_none=True, format="iso",
                                  metadata={"description": "0001-01-01T00:00:00Z while it fires"})
    generatorURL = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    fingerprint = fields.String(required=True, validate=validate.Regexp(
        r"^[0-9a-fA-F]{1,32}$", error="Must be Alertmanager's hexadecimal fingerprint."))

    @validates("labels")
    def _names_the_alert(self, labels, **kwargs):
        if not str(labels.get("alertname") or "").strip():
            raise ValidationError("Must hold the alertname label.")


class AlertmanagerWebhookSchema(Schema):
    """The JSON Alertmanager POSTs (payload version 4)."""

    class Meta:
        unknown = EXCLUDE

    version = fields.String(required=True, validate=validate.Equal("4", error="Only version 4 is understood."))
    groupKey = fields.String(load_default=None, allow_none=True)
    truncatedAlerts = fields.Integer(load_default=0, validate=validate.Range(min=0))
    status = fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    receiver = fields.String(load_default=None, allow_none=True)
    groupLabels = fields.Dict(load_default=dict, **_LABELS)
    commonLabels = fields.Dict(load_default=dict, **_LABELS)
    commonAnnotations = fields.Dict(load_default=dict, **_LABELS)
    externalURL = fields.String(load_default=None, allow_none=True)
    alerts = fields.List(fields.Nested(AlertmanagerAlertSchema), required=True,
                         validate=validate.Length(min=1, max=1000))


class AlertRelayResultSchema(Schema):
    """What became of the alerts (notifications.relay_ops_alerts)."""

    alerts = fields.Integer(required=True)
    notified = fields.Integer(required=True, metadata={"description": "sent now to on-call"})
    repeated = fields.Integer(required=True, metadata={"description": "sent before (Alertmanager repeating)"})
    suppressed = fields.Integer(required=True, metadata={"description": "flapping, or resolved nobody was told of"})
    failed = fields.Integer(required=True)
    retry_later = fields.Integer(required=True, metadata={"description": "> 0: answered 503, to be sent again"})
    no_recipients = fields.Integer(required=True)


_webhook = AlertmanagerWebhookSchema()
ALERTMANAGER_PATH = "/api/alerts/alertmanager"
ALERTMANAGER_SECURITY_SCHEME = {
    "type": "http", "scheme": "bearer",
    "description": "Alertmanager's token (http_config.authorization); its sha256 digest is "
                   "AUTH.ALERTMANAGER_TOKEN_SHA256. Not a staff token.",
}


def _alert_for_rpc(alert: dict) -> dict:
    return {
        "status": alert["status"], "labels": alert["labels"], "annotations": alert["annotations"],
        "startsAt": alert["startsAt"].isoformat(),
        "endsAt": alert["endsAt"].isoformat() if alert["endsAt"] is not None and alert["endsAt"].year > 1 else None,
        "fingerprint": alert["fingerprint"].lower(),
    }


def _alertmanager_refused(request, config) -> Response | None:
    """None when the request carries Alertmanager's token; else the 401 answer."""
    try:
        digests = parse_digests((config.get("AUTH") or {}).get("ALERTMANAGER_TOKEN_SHA256"))
    except InvalidTokenConfig:
        log.error("AUTH.ALERTMANAGER_TOKEN_SHA256 is malformed: every alert is refused")
        digests = ()
    if not digests:
        log.warning("no Alertmanager token configured (AUTH.ALERTMANAGER_TOKEN_SHA256): alerts refused")
        message = "Alert delivery is not available."
    elif not request.headers.get("Authorization"):
        message = "This endpoint needs Alertmanager's token: Authorization: Bearer <token>."
    elif not is_staff(request.headers.get("Authorization"), digests):
        message = "The token is not valid."
    else:
        return None
    return json_response(error_body("unauthorized", message), 401,
                         headers={"WWW-Authenticate": 'Bearer realm="alertmanager", error="invalid_token"'})


def refine(operations: dict) -> None:
    """The webhook has its own token (not the staff one)."""
    operation = operations[ALERTMANAGER_PATH]["post"]
    operation["security"] = [{"alertmanagerToken": []}]
    operation["responses"]["401"]["description"] = "Missing or invalid Alertmanager token."
    operation["responses"]["503"]["description"] = (
        "Some message could not go out yet (or a service is not available): Alertmanager sends again")


COMPONENTS = {
    "NotificationLogEntry": NotificationLogEntrySchema,
    "AlertmanagerAlert": AlertmanagerAlertSchema,  # before the webhook, which nests it
    "AlertmanagerWebhook": AlertmanagerWebhookSchema,
    "AlertRelayResult": AlertRelayResultSchema,
}
# the tuple layout of openapi.OPERATIONS
OPERATIONS = [
    ("/api/staff/notifications", "get", "listNotifications",
     "The message log, newest first: what was sent to whom (person id), why (cause event) and how it went; "
     "purged for erased persons. ?limit= (max 1000), ?person_id=", True, None,
     (200, "NotificationLogEntry", True), ()),
    (ALERTMANAGER_PATH, "post", "receiveAlertmanagerWebhook",
     "Alertmanager's webhook: each alert goes to on-call (ALERT_EMAILS, ALERT_WEBHOOK_URLS) once per alert "
     "(fingerprint) and status; a repeat or a flapping alert sends nothing more", False, "AlertmanagerWebhook",
     (200, "AlertRelayResult", False), (401,)),
]

_PAGES = {
    "base.html": """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Steunpunt staff</title>
<style>body{font-family:Arial,Helvetica,sans-serif;font-size:18px;line-height:1.5;color:#1a1a1a;max-width:60em;
margin:0 auto;padding:1em}a{color:#005a9c}table{border-collapse:collapse;width:100%}th,td{text-align:left;
padding:.4em;border-bottom:1px solid #767676;vertical-align:top}pre{white-space:pre-wrap;background:#f4f4f4;
padding:1em}iframe{width:100%;height:32em;border:1px solid #767676}label{display:block;font-weight:bold}
input{font-size:1em;padding:.4em;width:100%;max-width:30em}button{font-size:1em;padding:.4em 1em;margin-top:.5em}
.error{color:#a00000;font-weight:bold}</style></head>
<body><header><nav aria-label="Staff"><a href="/staff/mail">Captured mail</a></nav></header>
<main><h1>{{ title }}</h1>{% block main %}{% endblock %}</main></body></html>""",
    "login.html": """{% extends "base.html" %}{% block main %}
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/staff/login">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<input type="hidden" name="next" value="{{ next }}">
<label for="token">Staff token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>{% endblock %}""",
    "mail_list.html": """{% extends "base.html" %}{% block main %}
<p>Mail the platform kept here instead of sending it (mail capture is on). Newest first.</p>
{% if mails %}<table><caption>Captured mail</caption>
<thead><tr><th scope="col">When (UTC)</th><th scope="col">To</th><th scope="col">Subject</th></tr></thead><tbody>
{% for m in mails %}<tr><td>{{ m.captured_at[:19].replace("T", " ") }}</td><td>{{ m.recipient }}</td>
<td><a href="/staff/mail/{{ m.id }}">{{ m.subject }}</a></td></tr>{% endfor %}
</tbody></table>{% else %}<p>No mail yet.</p>{% endif %}
<form method="post" action="/staff/logout"><input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<button type="submit">Sign out</button></form>{% endblock %}""",
    "refused.html": """{% extends "base.html" %}{% block main %}
<p>{{ text }}</p>
<form method="post" action="/staff/logout"><input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<button type="submit">Sign out</button></form>{% endblock %}""",
    "mail.html": """{% extends "base.html" %}{% block main %}
<dl><dt>From</dt><dd>{{ mail["from"] }}</dd><dt>To</dt><dd>{{ mail.recipient }}</dd>
<dt>When (UTC)</dt><dd>{{ mail.captured_at[:19].replace("T", " ") }}</dd><dt>Language</dt><dd>{{ mail.language }}</dd>
<dt>Attachments</dt><dd>{{ mail.attachments | join(", ") or "none" }}</dd></dl>
<h2>Plain text</h2><pre>{{ mail.text }}</pre>
<h2>HTML</h2><iframe title="The HTML version of this mail" sandbox srcdoc="{{ mail.html }}"></iframe>
<p><a href="/staff/mail">Back to the captured mail</a></p>{% endblock %}""",
}
_env = Environment(loader=DictLoader(_PAGES), autoescape=select_autoescape(default=True, default_for_string=True))
allow_inline_styles(_PAGES["base.html"])  # its <style> is allowed by hash (services.gateway.security)
# The captured mail's HTML is shown in a sandboxed srcdoc iframe, which inherits the page's policy:
# the mails style with style attributes, so this page (ops only, no script anywhere) allows them.
MAIL_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def _html(template: str, status: int = 200, request=None, **context) -> Response:
    context.setdefault("csrf_token", csrf_token(request) if request is not None else "")
    response = Response(_env.get_template(template).render(**context), status=status,
                        content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _safe_next(value: str | None) -> str | None:
    return value if value and value.startswith("/staff/") and not value.startswith("//") else None


def _landing(roles) -> str:
    """Where a sign-in without `next` goes: the captured mail for ops, the annual report for staff."""
    if "ops" in roles:
        return "/staff/mail"
    return f"/staff/reports/annual/{datetime.now(CENTRE_TIMEZONE).year}"


class NotificationRoutes:
    """Mixed into GatewayService, which provides `config` and `notifications` (RpcProxy)."""

    @http("GET", "/api/staff/notifications")
    @api
    @require("staff")
    def staff_list_notifications(self, request):
        try:
            limit = int(request.args.get("limit") or 200)
        except ValueError:
            limit = 200
        return self.notifications.list_notifications(limit=limit, person_id=request.args.get("person_id") or None)

    @http("POST", ALERTMANAGER_PATH)
    @api
    def alertmanager_webhook(self, request):
        refused = _alertmanager_refused(request, self.config)
        if refused is not None:
            return refused
        data = load(_webhook, read_json_object(request))
        result = self.notifications.relay_ops_alerts([_alert_for_rpc(alert) for alert in data["alerts"]])
        if result.get("retry_later"):  # Alertmanager sends the notification again after a 5xx
            return json_response(error_body("retry_later", "Some alert could not be sent yet.", result), 503)
        return result

    @http("GET,POST", "/staff/login", rate_limit="login")
    def staff_login(self, request):
        next_url = _safe_next(request.values.get("next"))
        if request.method != "POST":
            return _html("login.html", request=request, title="Staff sign-in", next=next_url or "", error=None)
        token = (request.form.get("token") or "").strip()
        roles = token_roles(token, self.config)
        if not roles:
            return _html("login.html", status=401, request=request, title="Staff sign-in", next=next_url or "",
                         error="That token is not valid.")
        response = Response(status=303, headers={"Location": next_url or _landing(roles)})
        response.set_cookie(STAFF_COOKIE, token, httponly=True, samesite="Strict", path=COOKIE_PATH,
                            secure=_https(self.config, request), max_age=COOKIE_MAX_AGE)
        return response

    @http("POST", "/staff/logout")
    def staff_logout(self, request):
        response = Response(status=303, headers={"Location": "/staff/login"})
        response.delete_cookie(STAFF_COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict",
                               secure=_https(self.config, request))
        return response

    @http("GET", "/staff/mail")
    @require("ops")
    def staff_mail(self, request):
        return _html("mail_list.html", request=request, title="Captured mail",
                     mails=self.notifications.list_captured_mail())

    @http("GET", "/staff/mail/<int:mail_id>")
    @require("ops")
    def staff_mail_one(self, request, mail_id):
        mail = self.notifications.get_captured_mail(mail_id)
        if mail is None:
            return _html("base.html", status=404, request=request, title="No such mail")
        response = _html("mail.html", request=request, title=mail["subject"], mail=mail)
        response.headers["Content-Security-Policy"] = MAIL_POLICY
        return response

    def auth_refused_page(self, request, status: int, roles, held) -> Response:
        """What a staff page answers without a valid token (401: the sign-in form, coming back
        here) or with a token of another role (403); services.gateway.auth.refusal calls it."""
        if status == 401:
            error = "That token is not valid." if (request.headers.get("Authorization")
                                                   or request.cookies.get(STAFF_COOKIE)) else None
            response = _html("login.html", status=401, request=request, title="Staff sign-in",
                             next=_safe_next(request.full_path.rstrip("?")) or "", error=error)
            response.headers["WWW-Authenticate"] = 'Bearer realm="staff"'
            return response
        text = (f"You are signed in with a token for {', '.join(sorted(held))}; this page needs "
                f"{' or '.join(roles)}. Sign out and sign in with such a token.")
        return _html("refused.html", status=403, request=request, title="Not for this token", text=text)


def _https(config, request) -> bool:
    """Cookies get the Secure flag when the public address is https (or the request came over it)."""
    return str(config.get("PUBLIC_BASE_URL") or "").lower().startswith("https://") or request.scheme == "https"
