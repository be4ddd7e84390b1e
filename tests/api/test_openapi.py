"""The OpenAPI document describes exactly the registered API routes."""

from __future__ import annotations

import re


def _registered(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def test_the_document_matches_the_routes(app, api):
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == _registered(app)


def test_every_path_parameter_is_declared(api):
    document = api.get("/api/v1/openapi.json").get_json()
    for path, item in document["paths"].items():
        wanted = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == wanted, (method, path)


def test_every_reference_resolves(api):
    document = api.get("/api/v1/openapi.json").get_json()
    text = str(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in document["components"]["schemas"]


def test_every_route_that_honours_an_idempotency_key_declares_it_and_its_answers(app, api):
    document = api.get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        honours = getattr(app.view_functions[rule.endpoint], "honours_idempotency_key", False)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            assert ("Idempotency-Key" in names) == honours, (method, path)
            if honours:  # a malformed key, the same key still running, reused with another body
                assert {"400", "409", "422"} <= operation["responses"].keys(), (method, path)


def test_every_list_declares_the_422_of_a_bad_limit_or_cursor(api):
    document = api.get("/api/v1/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "limit" in {parameter["name"] for parameter in operation.get("parameters", [])}:
                assert "422" in operation["responses"], (method, path)
