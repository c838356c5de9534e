"""The OpenAPI document stays true to the app, and the app stays true to the document."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from sandbox.web.api.openapi import build_document

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            routes.setdefault(_flask_to_openapi(rule.rule), set()).update(
                m.lower() for m in rule.methods - IGNORED_METHODS)
    return routes


def test_every_api_route_is_documented_with_its_methods_and_nothing_else(app):
    doc = build_document()
    documented = {path: {m for m in item if m in ("get", "post", "put", "patch", "delete")}
                  for path, item in doc["paths"].items()}
    routes = _routes(app)
    assert set(routes) - set(documented) == set(), "routes missing from sandbox/web/api/openapi.py"
    assert set(documented) - set(routes) == set(), "documented paths that the app does not route"
    for path, methods in routes.items():
        assert documented[path] == methods, path


def test_the_document_is_valid_openapi_and_served_publicly(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    validate(doc)  # raises on an invalid document
    assert doc["openapi"].startswith("3.0")
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth", "csrfToken"}


def test_every_operation_documents_errors_security_and_its_path_parameters():
    doc = build_document()
    ids = []
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for method, operation in item.items():
            ids.append(operation["operationId"])
            statuses = set(operation["responses"])
            assert any(s.startswith("2") for s in statuses), (path, method)
            assert "503" in statuses, (path, method)
            params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert params == names, (path, method)
            if operation["security"]:
                assert {"401", "403"} <= statuses, (path, method)
                if method != "get":
                    assert {"bearerAuth": []} in operation["security"]
                    assert {"cookieAuth": [], "csrfToken": []} in operation["security"], (path, method)
            if "requestBody" in operation:
                assert "400" in statuses, (path, method)
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    assert response == {"$ref": f"#/components/responses/E{status}"}
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def test_an_error_answer_matches_the_documented_error_shape(api):
    resp = api("candidate").get("/api/v1/drills/999999")
    assert resp.status_code == 404
    body = resp.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])


# --------------------------------------------------------------------------- schemathesis
# Driven by hand rather than through schemathesis' pytest plugin: its lazy loader
# (``schemathesis.pytest.from_fixture``) touches ``Function._nodeid``, which pytest 9 removed.

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 15  # per operation and generation mode


def _real_resources(app, headers: dict) -> dict:
    """A running drill, its conversation and a work order: ids the fuzzer then works on."""
    client = app.test_client()
    drill = client.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}, headers=headers).get_json()
    conv = drill["conversations"][0]["id"]
    order = client.post("/api/v1/workorders", headers=headers, json={
        "category": "信用卡", "title": "账单查询", "conversation_id": conv}).get_json()
    return {"drill_id": drill["id"], "conversation_id": conv, "number": order["number"]}


def _fuzz(app, token: str, mode: GenerationMode, real: bool = False) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    known = _real_resources(app, headers) if real else {}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in known.items() if k in names}
        if real and not fixed:
            continue

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Negative mode on an operation with no inputs at all (e.g. GET /health):
            # there is nothing to make invalid. Positive mode still covers it.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, BaseExceptionGroup) as exc:  # one report per operation, then the others
            failures.append(f"{operation.label}: {exc}"[:3000])
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("mode,real", [(GenerationMode.POSITIVE, False), (GenerationMode.NEGATIVE, False),
                                       (GenerationMode.POSITIVE, True), (GenerationMode.NEGATIVE, True)],
                         ids=["positive", "negative", "positive-on-a-real-drill", "negative-on-a-real-drill"])
def test_api_fuzzed_answers_match_the_document(app, api_token, mode, real):
    """Random (and, in negative mode, invalid) requests as a candidate; with ``real`` the ids
    in the URL are a running drill's, so bodies reach the domain code instead of a 404."""
    # The stock app fixture re-raises unexpected errors; here we want the 500 answer, which
    # not_a_server_error reports together with the request that caused it.
    app.config["PROPAGATE_UNEXPECTED"] = False
    failures = _fuzz(app, api_token("candidate"), mode, real)
    assert not failures, "\n\n".join(failures)
