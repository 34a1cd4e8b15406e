"""The OpenAPI document's shared parts: the problem-details shape on every operation, and the
rules the server enforces that the serializers alone do not state."""

import re

from agency.api.conventions import ID, ID_SCHEMA, NO_NUL, NOT_BLANK
from agency.outbound import private_allowed

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
          "410": "The brand is archived: its host answers nothing until an agency admin "
                 "restores it.",
          "429": "Too many requests: wait Retry-After seconds."}
ON_WRITE = {"409": "Conflicts with the current state, or the first request with this "
                   "Idempotency-Key is still running.",
            "411": "The body was sent in chunks: send it with a Content-Length.",
            "412": "The resource changed since it was read (If-Match).",
            "413": "The body is larger than this address takes (detail says how large).",
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


def state_the_rules(result, generator, request, public):
    """Ids in addresses are positive numbers (the server answers 404 for anything else), and
    no text takes a NUL character (refused with 400). Webhook addresses may be plain http only
    where private addresses are allowed (development)."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if (parameter.get("in") == "path"
                        and parameter.get("schema", {}).get("pattern") == f"^{ID}$"):
                    parameter["schema"] = dict(ID_SCHEMA)
    for name, component in result.get("components", {}).get("schemas", {}).items():
        # Requests and answers alike: an endpoint registered over http comes back as it is.
        _each_string(component, _http_where_allowed if private_allowed() else None)
        if name.endswith("Request"):
            _each_string(component, _no_nul)
    return result


def _each_string(schema, change) -> None:
    if not isinstance(schema, dict) or change is None:
        return
    if schema.get("type") == "string":
        change(schema)
    for child in (*schema.get("properties", {}).values(), schema.get("items"),
                  *schema.get("allOf", []), *schema.get("oneOf", [])):
        _each_string(child, change)


def _http_where_allowed(schema: dict) -> None:
    if schema.get("pattern") == "^https://":
        schema["pattern"] = "^https?://"


def _no_nul(schema: dict) -> None:
    if not {"format", "enum", "pattern"} & schema.keys():
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL


def add_links(result, generator, request, public):
    """OpenAPI links from each answer that carries a resource to the operations on it (a
    campaign created, to read, change, submit and follow it; a webhook test, to its delivery),
    with ``If-Match`` from the answer's ``ETag``. Clients and stateful tests follow them."""
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})

    def component(operation, code):
        content = operation.get("responses", {}).get(code, {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        return ref.rsplit("/", 1)[-1] or None

    # Where each kind of resource lives: its GET address ends in its lookup ("/…/{id}/").
    homes = {}
    for path, item in paths.items():
        get = item.get("get")
        if get and path.endswith("}/") and (name := component(get, "200")):
            collection, lookup = path[:path.rindex("{")], path[path.rindex("{") + 1:-2]
            homes.setdefault(name, (collection, lookup))
    for path, item in paths.items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for code in ("200", "201", "202"):
                name = _kind(component(operation, code), homes, components)
                if name is None:
                    continue
                collection, lookup = homes[name]
                if lookup not in components[name].get("properties", {}):
                    continue
                links = {}
                for target_path, target_item in paths.items():
                    if not target_path.startswith(collection + "{"):
                        continue
                    for target_method, target in target_item.items():
                        if not isinstance(target, dict) or (target_path, target_method) == (
                                path, method) or "operationId" not in target:
                            continue
                        parameters = _link_parameters(path, target_path, collection, lookup,
                                                      target)
                        if parameters is not None:
                            links[target["operationId"]] = {
                                "operationId": target["operationId"], "parameters": parameters}
                if links:
                    operation["responses"][code]["links"] = links
    return result


def _kind(name, homes: dict, components: dict) -> str | None:
    """The resource kind an answer of component ``name`` is: its own, or the one it extends
    (an endpoint as created, with its secret, is still an endpoint)."""
    if name in homes:
        return name
    fields = set(components.get(name or "", {}).get("properties", {}))
    kinds = [home for home in homes
             if set(components.get(home, {}).get("properties", {})) <= fields
             and homes[home][1] in fields]
    return max(kinds, key=lambda home: len(components[home]["properties"]), default=None)


def _link_parameters(source_path: str, target_path: str, collection: str, lookup: str,
                     target: dict) -> dict | None:
    parameters = {}
    own = target_path[len(collection) + 1:target_path.index("}", len(collection))]
    for parameter in target.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            if name == own:
                parameters[name] = f"$response.body#/{lookup}"
            elif "{" + name + "}" in source_path:
                parameters[name] = f"$request.path.{name}"
            else:
                return None
        elif where == "header" and name == "If-Match":
            parameters["header.If-Match"] = "$response.header.ETag"
    return parameters


def name_enum_members(result, generator, request, public):
    """Names for the members of an enum whose values alone would give clashing names in a
    generated client ("GMT+0", "GMT-0" and "GMT0" all read GMT0): ``x-enum-varnames``, which
    client generators take."""
    for component in result.get("components", {}).get("schemas", {}).values():
        values = component.get("enum") or []
        if not values or not all(isinstance(value, str) for value in values):
            continue
        plain = [re.sub(r"[^A-Za-z0-9]", "", value).upper() for value in values]
        if len(set(plain)) < len(plain):
            component["x-enum-varnames"] = [_member_name(value) for value in values]
    return result


def _member_name(value: str) -> str:
    value = re.sub(r"\+(?=\d)", "_PLUS_", value)
    value = re.sub(r"-(?=\d)", "_MINUS_", value)
    return re.sub(r"[^A-Za-z0-9]+", "_", value).strip("_").upper()
