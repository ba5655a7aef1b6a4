"""The gateway's nameko service: one class, GatewayService, made of one routes class per feature
(see the package's doc), with the RPC proxies they call and the routes about the gateway as a
whole: its OpenAPI description and the answers for paths no route serves.
"""
from __future__ import annotations

from apispec import APISpec
from nameko.dependency_providers import Config
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as RoutingNotFound
from werkzeug.routing import Map, Rule

from kernel.rpc import RpcProxy
from services.gateway.accounts import routes as accounts
from services.gateway.activities import routes as activities
from services.gateway.core.errors import api, error_body
from services.gateway.core.http import json_response
from services.gateway.core.openapi import http_routes, spec_of, written_out
from services.gateway.core.pages import Page
from services.gateway.core.security import http
from services.gateway.evaluations import routes as evaluations
from services.gateway.ops import routes as ops
from services.gateway.organisations import routes as organisations
from services.gateway.public import routes as public
from services.gateway.reporting import routes as reporting
from services.gateway.requests import routes as requests
from services.gateway.staff import routes as staff

API_METHODS = "GET,POST,PUT,PATCH,DELETE"
OPENAPI_OPERATION = {
    "operationId": "openapi", "summary": "This description", "tags": ["meta"],
    "responses": {"200": {"description": "OpenAPI 3 document",
                          "content": {"application/json": {"schema": {"type": "object"}}}}},
}


# The bases are named through their modules: `nameko run services.gateway.service` runs every class
# in this module's namespace that has entrypoints, so no routes class may be imported here by name.
class GatewayService(public.PublicRoutes, staff.StaffRoutes, activities.ActivityPages, requests.RequestRoutes,
                     evaluations.EvaluationRoutes, reporting.ReportingRoutes, ops.OpsRoutes,
                     organisations.OrganisationRoutes, accounts.AccountRoutes):
    name = "gateway"

    config = Config()
    registration = RpcProxy("registration")
    evaluation = RpcProxy("evaluation")
    requests = RpcProxy("requests")
    reporting = RpcProxy("reporting")
    notifications = RpcProxy("notifications")
    accounts = RpcProxy("accounts")

    @written_out(OPENAPI_OPERATION)
    @http("GET", "/api/openapi.json")
    @api
    def openapi(self, request):
        return build_spec(self.config.get("PUBLIC_BASE_URL")).to_dict()

    @http(API_METHODS, "/api/<path:rest>")
    def api_unknown(self, request, rest):
        allowed = _allowed_methods(request.path)
        if allowed:
            return json_response(
                error_body("method_not_allowed", f"{request.method} is not allowed on {request.path}."),
                405,
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        return json_response(error_body("not_found", f"No API endpoint at {request.path}."), 404)

    @http("GET,POST", "/<path:rest>")
    def page_not_found(self, request, rest):
        return Page(request).not_found()


def build_spec(server_url: str | None = None) -> APISpec:
    """The OpenAPI description of the gateway's JSON API."""
    return spec_of(GatewayService, server_url)


def all_routes() -> list[tuple[str, frozenset[str]]]:
    """(werkzeug rule, methods) of every HTTP entrypoint of the gateway."""
    return sorted(
        (entrypoint.url, frozenset(m.strip().upper() for m in entrypoint.method.split(",")))
        for _, _, entrypoint in http_routes(GatewayService)
    )


def api_routes() -> list[tuple[str, frozenset[str]]]:
    """The /api entrypoints, the catch-all for unknown paths excepted."""
    return [(url, methods) for url, methods in all_routes() if url.startswith("/api/") and "<path:" not in url]


_api_map: Map | None = None


def _allowed_methods(path: str) -> set[str]:
    """Methods the API serves on `path` (empty: no such endpoint)."""
    global _api_map
    if _api_map is None:
        _api_map = Map([Rule(url, methods=sorted(methods)) for url, methods in api_routes()])
    adapter = _api_map.bind("gateway")
    try:
        adapter.match(path, method="__probe__")
    except MethodNotAllowed as exc:
        return set(exc.valid_methods or ())
    except RoutingNotFound:
        return set()
    except Exception:  # noqa: BLE001 - e.g. a redirect for a trailing slash
        return set()
    return set()
