from services.gateway.core.openapi import spec_paths
from services.gateway.service import all_routes, build_spec
from tests.unit.gateway.openapi_check import check_openapi_document, werkzeug_to_openapi


def test_spec_is_structurally_valid_openapi_3():
    document = build_spec("http://127.0.0.1:8000").to_dict()
    assert check_openapi_document(document) == []


def test_spec_lists_every_json_route_the_gateway_serves():
    document = build_spec().to_dict()
    served = {
        (werkzeug_to_openapi(url), method)
        for url, methods in all_routes()
        for method in methods
        if (url.startswith("/api/") or url == "/health") and "<path:" not in url
    }
    assert served == spec_paths(document)


def test_staff_paths_need_the_bearer_scheme_and_public_ones_do_not():
    document = build_spec().to_dict()
    staff_token = document["components"]["securitySchemes"]["staffToken"]
    assert staff_token == {"type": "http", "scheme": "bearer", "description": staff_token["description"]}
    for path, item in document["paths"].items():
        for operation in item.values():
            if path.startswith(("/api/staff/", "/api/kpis/", "/api/admin/")):  # the KPIs are staff-only too
                assert operation["security"] == [{"staffToken": []}]
                assert "401" in operation["responses"]
            elif path == "/api/alerts/alertmanager":  # its own token, not a staff one
                assert operation["security"] == [{"alertmanagerToken": []}]
                assert {"200", "400", "401", "503"} <= set(operation["responses"])
            else:
                assert "security" not in operation


def test_register_documents_its_errors():
    operation = build_spec().to_dict()["paths"]["/api/activities/{activity_id}/registrations"]["post"]
    assert {"201", "400", "404", "409"} <= set(operation["responses"])
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RegistrationRequest"
    }
