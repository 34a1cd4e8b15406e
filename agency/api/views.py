"""Pages of the API itself: what each problem type means."""

from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from agency.problems import PROBLEM_TYPES
from agency.problems import problem_response as problem


def problem_type(request, code: str):
    """The meaning of a problem ``type`` (``/api/v1/problems/<code>``)."""
    if code not in PROBLEM_TYPES:
        return not_found(request)
    return JsonResponse({"type": f"/api/v1/problems/{code}", "meaning": PROBLEM_TYPES[code]})


def not_found(request, exception=None):
    detail = "No API endpoint or object at this address. The reference is at /api/v1/docs/."
    if not request.path.endswith("/") and _is_endpoint(request.path + "/", request):
        detail = (f"API addresses end with a slash: send the request to {request.path}/ "
                  "(requests are not redirected, so no method or body is lost).")
    return problem(request, 404, "not-found", detail)


def _is_endpoint(path: str, request) -> bool:
    try:
        match = resolve(path, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return match.func is not unmatched


@csrf_exempt  # an API address: no cookies, so nothing for CSRF to guard; a 404 all the same
def unmatched(request):
    """Any address under ``/api/`` that no endpoint takes (an id that is no number, a short
    name with capitals, a path that does not exist): a problem detail, as from every
    endpoint, not Django's HTML page (nor its debug page in development)."""
    return not_found(request)


def server_error(request):
    return problem(request, 500, "server-error",
                    "Something failed on our side; nothing was changed. Try again, and tell us "
                    "if it keeps happening.")


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return server_error(request)
    return defaults.server_error(request)
