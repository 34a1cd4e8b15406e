"""The Content-Security-Policy of every page (django-csp), with what each part of the site needs.

The policy itself is ``CONTENT_SECURITY_POLICY`` in the settings: our own pages (portal, review
pages, previews) carry no inline script or style, so it allows neither."""

from csp.middleware import CSPMiddleware, PolicyParts

# Wagtail 8's admin still writes inline scripts (InlinePanel, the date pickers, chooser widgets)
# and inline styles, and previews uploads through blob: addresses. Scripts still come only from
# our own host, and data only goes back to it (default-src, form-action).
ADMIN = {
    "script-src": ["'unsafe-inline'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["blob:"],
}
# The API reference (Swagger UI, served from our own static files) styles inline.
API_DOCS = {"style-src": ["'unsafe-inline'"]}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    path_updates = (("/admin/", ADMIN), ("/api/v1/docs/", API_DOCS))

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        for prefix, update in self.path_updates:
            if request.path.startswith(prefix):
                parts.update = _merged(update, parts.update)
        if getattr(request, "is_preview", False) or response.get("X-Frame-Options") == "SAMEORIGIN":
            # Framed by our own admin: Wagtail renders a preview through this middleware as a
            # request of its own (is_preview) and shows it in the editor's preview panel; other
            # views allow same-origin framing with X-Frame-Options, which this mirrors.
            parts.replace = {**(parts.replace or {}), "frame-ancestors": ["'self'"]}
        return parts


def _merged(first: dict, second: dict | None) -> dict:
    merged = {key: list(values) for key, values in first.items()}
    for key, values in (second or {}).items():
        merged[key] = merged.get(key, []) + list(values)
    return merged
