"""The OpenAPI document's shared parts: the problem-details shape on every operation."""

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "description": "What kind of problem (a relative URI)."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong and how to fix it."},
        "instance": {"type": "string", "nullable": True},
        "request_id": {"type": "string", "description": "Also in the X-Request-Id header: "
                                                       "quote it when asking for help."},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {
                "field": {"type": "string", "nullable": True,
                          "description": "The input at fault, e.g. posts[0].copy."},
                "detail": {"type": "string"}}, "required": ["field", "detail"]},
        },
    },
    "required": ["type", "title", "status", "detail"],
}

ALWAYS = {"400": "The request needs fixing (see errors).", "401": "No valid API key.",
          "403": "The key's scopes or its person's role do not allow this.",
          "404": "Not found for this brand.", "406": "Only JSON is offered.",
          "429": "Too many requests: wait Retry-After seconds."}
ON_WRITE = {"409": "Conflicts with the current state, or the first request with this "
                   "Idempotency-Key is still running.",
            "412": "The resource changed since it was read (If-Match).",
            "415": "Send JSON (or multipart form data for uploads).",
            "422": "The Idempotency-Key was used with a different request.",
            "428": "If-Match is required for updates."}


def only_api(endpoints):
    """The document covers ``/api/v1/`` alone (not Wagtail's own admin API)."""
    return [e for e in endpoints if e[0].startswith("/api/v1/")]


def add_problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = dict(ALWAYS)
            if method != "get":
                codes.update(ON_WRITE)
            responses = operation.setdefault("responses", {})
            for code, description in codes.items():
                responses.setdefault(code, {"description": description, "content": ref})
    return result
