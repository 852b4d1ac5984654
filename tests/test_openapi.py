"""``/openapi.json``: built from the declared limits, and true of the real answers.

schemathesis generates requests from the document against a real ``timkiem
serve`` over the sample articles and checks each answer against it: no
server error, and status code, content type, headers and body as declared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from falcon.inspect import inspect_routes
from falcon.testing import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode, checks

from conftest import EXAMPLES, Engines, make_settings
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.limits import MAX_CATEGORIES, MAX_PER_PAGE, SORTS
from timkiem.openapi import openapi_document
from timkiem.testing import ServerProcess

EXAMPLES_PER_OPERATION = 30
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def parameter(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        p for p in document["paths"]["/search"]["get"]["parameters"] if p["name"] == name
    )
    return found


def test_the_document_states_the_servers_limits(app_settings: Settings, engines: Engines) -> None:
    settings = make_settings(app_settings.index, max_query_length=20, max_result_window=300)
    document = engines.client(settings).simulate_get("/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert parameter(document, "q")["schema"]["maxLength"] == 20
    assert "at most 300" in parameter(document, "page")["description"]
    assert parameter(document, "page")["schema"]["maximum"] == 300
    assert parameter(document, "per_page")["schema"]["maximum"] == MAX_PER_PAGE
    assert parameter(document, "category")["schema"]["maxItems"] == MAX_CATEGORIES
    assert parameter(document, "sort")["schema"]["enum"] == list(SORTS)


def test_every_route_is_described(client: TestClient) -> None:
    """A route added to the API must be added to the document too."""
    paths = set(client.simulate_get("/openapi.json").json["paths"])
    routes = {re.sub(r"{(\w+):\w+}", r"{\1}", r.path) for r in inspect_routes(client.app)}
    # /articles/{id}/related is answered by the /articles/{id} route (ids hold slashes)
    assert paths == routes | {"/articles/{article_id}/related"}
    assert {"/search", "/articles/{article_id}", "/openapi.json", "/metrics"} <= paths


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def undeclared(document: dict[str, Any], schema: dict[str, Any], value: Any, at: str) -> list[str]:
    """Fields of ``value`` that ``schema`` does not name (its objects allow more fields,
    so schemathesis alone would not see a field the document forgot)."""
    schema = resolve(document, schema)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{at}.{key}")
            else:
                found += undeclared(document, schema["properties"][key], item, f"{at}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for item in value[:3]:
            found += undeclared(document, schema["items"], item, f"{at}[]")
    return found


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/search", {"q": "cong doan", "per_page": "3"}),
        ("/search", {"from": "2020", "to": "2021", "category": "hoat dong cong doan"}),
        ("/search", {"page": "abc"}),
        ("/articles/bk-0001", {}),
        ("/articles/nope", {}),
        ("/articles/bk-0001/related", {"limit": "3"}),
        ("/suggest", {"q": "cong do"}),
        ("/search", {"q": "cong doan bac kna"}),
        ("/search", {"q": "coong ddoanf"}),
        ("/health", {}),
        ("/stats", {}),
    ],
)
def test_every_field_sent_is_declared(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    document = client.simulate_get("/openapi.json").json
    result = client.simulate_get(path, params=params)
    template = path
    if path.startswith("/articles/"):
        related = path.endswith("/related")
        template = "/articles/{article_id}" + ("/related" if related else "")
    response = document["paths"][template]["get"]["responses"][str(result.status_code)]
    schema = response["content"]["application/json"]["schema"]
    if template == "/articles/{article_id}" and result.status_code == 200:
        return  # a stored record holds whatever fields were ingested
    assert undeclared(document, schema, result.json, "$") == []


# -- schemathesis against a live server ------------------------------------------


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    index = tmp_path_factory.mktemp("openapi") / "index"
    Indexer(make_settings(index)).ingest([str(EXAMPLES)])
    with ServerProcess(index, clean=True, args=["--no-access-log"]) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(live_server: ServerProcess) -> Any:
    return schemathesis.openapi.from_url(live_server.base + "/openapi.json")


# Every operation with valid requests; the one with query parameters with invalid ones
# too (a path parameter that is any string has no invalid value).
OPERATIONS = [
    (method.upper(), path, mode)
    for path, methods in openapi_document(Settings())["paths"].items()
    for method in methods
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or path == "/search"
]


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS)
def test_the_server_answers_as_the_document_says(
    api_schema: Any, live_server: ServerProcess, method: str, path: str, mode: GenerationMode
) -> None:
    """Generated requests, valid (positive) and invalid (negative) by the document."""
    operation = api_schema[path][method]

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def answers(case: Any) -> None:
        case.call_and_validate(base_url=live_server.base, checks=CHECKS)

    answers()


def test_the_schema_checks_can_fail(live_server: ServerProcess, tmp_path: Path) -> None:
    """A document that misstates a field's type is caught by the same checks."""
    document = schemathesis.openapi.from_url(live_server.base + "/openapi.json").raw_schema
    document["components"]["schemas"]["SearchResponse"]["properties"]["total"] = {
        "type": "string"
    }
    wrong = schemathesis.openapi.from_dict(document)
    operation = wrong["/search"]["GET"]
    case = operation.Case(query={"q": "cong doan"})
    with pytest.raises(BaseExceptionGroup, match="violates schema"):
        case.call_and_validate(base_url=live_server.base, checks=CHECKS)
