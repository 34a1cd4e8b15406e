"""Content Security Policy for our own pages (their templates carry no inline script or style)."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    # Wagtail's admin ships inline scripts of its own; it keeps its own defaults.
    exempt_prefixes = ("/admin/",)
    # The API reference (Swagger UI, served from our own static files) styles inline.
    inline_style_prefixes = ("/api/v1/docs/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and not request.path.startswith(self.exempt_prefixes):
            if request.path.startswith(self.inline_style_prefixes):
                policy = policy.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
