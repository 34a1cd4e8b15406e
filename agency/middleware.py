"""Content Security Policy for our own pages (their templates carry no inline script or style)."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    # Wagtail's admin ships inline scripts of its own; it keeps its own defaults.
    exempt_prefixes = ("/admin/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and not request.path.startswith(self.exempt_prefixes):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
