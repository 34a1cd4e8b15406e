"""One JSON log line per API request, and a request id an integrator can quote to support.

Every ``/api/`` response carries ``X-Request-Id`` (the caller's own, if it sent a sane one, or a
new one), problem details carry it as ``request_id``, and the log line has it with the key's
public id (never the key), the status and the time taken, under the brand's schema."""

from __future__ import annotations

import logging
import re
import time
import uuid

logger = logging.getLogger("agency.api.requests")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class ApiRequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        given = request.headers.get("X-Request-Id", "")
        request.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        start = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id
        key = getattr(request, "auth", None)  # set by DRF's authentication
        logger.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "request_id": request.request_id, "method": request.method, "path": request.path,
            "status": response.status_code, "api_key": getattr(key, "public_id", None),
            "duration_ms": round((time.perf_counter() - start) * 1000, 1)})
        return response
