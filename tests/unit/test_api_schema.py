"""The API's OpenAPI description: generated cleanly, served, and honest about errors."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture
def api():
    return APIClient()


def test_the_schema_generates_without_a_warning(tmp_path):
    # --fail-on-warn: a serializer field whose type drf-spectacular has to
    # guess (it would document it as a string) fails here, not in a client.
    schema_file = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file))

    schema = yaml.safe_load(schema_file.read_text())
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/subjects/",
        "/api/subjects/{id}/",
        "/api/courses/",
        "/api/courses/{id}/",
        "/api/courses/{id}/contents/",
        "/api/courses/{id}/enroll/",
    }


def test_the_schema_is_served_as_openapi_3_json(api):
    response = api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.") and schema["info"]["title"] == "educa API"
    contents = schema["paths"]["/api/courses/{id}/contents/"]["get"]
    assert {"200", "403", "404"} <= set(contents["responses"])
    enroll = schema["paths"]["/api/courses/{id}/enroll/"]["post"]
    assert "requestBody" not in enroll
    assert enroll["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Enrollment"
    }


def test_rendered_contents_are_described_not_guessed(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    module = schema["components"]["schemas"]["ModuleWithContents"]

    contents = module["properties"]["contents"]
    assert contents["type"] == "array"
    assert contents["items"]["$ref"] == "#/components/schemas/RenderedContent"


def test_the_documentation_page_loads_its_files_from_the_site(api):
    page = api.get("/api/docs/").content.decode()
    script = api.get("/api/docs/", {"script": ""})

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in page
    assert "<style" not in page and "<script>" not in page, "the CSP refuses inline code"
    assert "cdn" not in page.lower()
    assert script.status_code == 200 and "/api/schema/" in script.content.decode()


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/courses/0.5/"), ("post", "/api/courses/0.5/enroll/"), ("get", "/api/nothing/here")],
)
def test_an_address_under_api_that_matches_nothing_is_a_json_404(api, method, path):
    response = getattr(api, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("page", ["", "last", "0", "x"])
def test_a_page_number_that_is_not_a_page_is_a_404(api, page):
    response = api.get("/api/subjects/", {"page": page})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}
