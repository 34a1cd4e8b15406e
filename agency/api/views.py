"""Pages of the API itself: what each problem type means."""

from django.http import Http404, JsonResponse
from django.views import defaults

from agency.api.errors import PROBLEM_TYPES


def problem_type(request, code: str):
    """The meaning of a problem ``type`` (``/api/v1/problems/<code>``)."""
    if code not in PROBLEM_TYPES:
        raise Http404
    return JsonResponse({"type": f"/api/v1/problems/{code}", "meaning": PROBLEM_TYPES[code]})


def not_found(request, exception=None):
    return JsonResponse(
        {"type": "/api/v1/problems/not-found", "title": "Not found", "status": 404,
         "detail": "No API endpoint or object at this address. The reference is at "
                   "/api/v1/docs/.", "instance": request.path},
        status=404, content_type="application/problem+json")


def server_error(request):
    return JsonResponse(
        {"type": "/api/v1/problems/server-error", "title": "Server error", "status": 500,
         "detail": "Something failed on our side; nothing was changed. Try again, and tell us "
                   "if it keeps happening.", "instance": request.path},
        status=500, content_type="application/problem+json")


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return server_error(request)
    return defaults.server_error(request)
