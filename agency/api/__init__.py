"""The integrator REST API (``/api/v1/``): API keys, the conventions every endpoint follows
(problem details, cursor pagination, ETags, idempotent POSTs), and the one router that gathers
each app's API views (``<app>/api.py``)."""
