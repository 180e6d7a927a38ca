"""What the OpenAPI description adds to drf-spectacular's: the errors the API answers.

drf-spectacular documents the successful answer of each operation. Clients
(and the fuzzer in the stack tests) also meet DRF's errors, all with the
same body, so they are part of the contract:

* 404 on every operation: an unknown id, or a ``page`` past the end;
* 403 where a signed-in user is required (no session, or a course the
  user does not follow), and on every unsafe method (a missing CSRF token);
* 429 on every operation: over a rate (NGINX's per address, DRF's
  throttles per address, account or for enrolling), with Retry-After.
"""

SAFE_METHODS = {"get", "head", "options"}
ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What went wrong, for a person."}},
    "required": ["detail"],
}
ERRORS = {
    "403": "Sign in first (with the CSRF token on POST), or enrol in the course.",
    "404": "No such object, or no such page.",
    "429": "Too many requests: try again after the seconds in the Retry-After header.",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before the next request.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _error_response(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }


def _anonymous_allowed(operation):
    # drf-spectacular lists ``{}`` among the security requirements when the
    # operation's permissions let anonymous requests through.
    return {} in operation.get("security", [{}])


def document_error_responses(result, generator, request, public):
    """Postprocessing hook: add the Error schema and the 403/404/429 answers."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            responses.setdefault("404", _error_response(ERRORS["404"]))
            responses.setdefault("429", {**_error_response(ERRORS["429"]), "headers": RETRY_AFTER})
            if not _anonymous_allowed(operation) or method not in SAFE_METHODS:
                responses.setdefault("403", _error_response(ERRORS["403"]))
    return result
