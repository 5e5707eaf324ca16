"""``HEAD`` for the JSON API: every ``GET`` operation of a django-ninja router answers ``HEAD`` as well.

django-ninja routes a request by its method only, so ``HEAD /api/v1/goals`` was a 405 although ``GET``
answers 200. HTTP asks that ``HEAD`` answer like ``GET`` without the body (RFC 9110, 9.3.2): the
operation runs as for ``GET`` (same checks, cache and status) and the WSGI server — gunicorn, or Django's
test client — sends the headers only. The ``HEAD`` twin is left out of the OpenAPI schema, which
describes the ``GET`` operation already.
"""

from __future__ import annotations

from ninja import Router


def answer_head(router: Router) -> Router:
    """Give every ``GET`` operation of ``router`` a ``HEAD`` twin; call it before the router is added to
    an API (adding it binds copies of the operations)."""
    for path_view in router.path_operations.values():
        if any("HEAD" in operation.methods for operation in path_view.operations):
            continue
        for operation in list(path_view.operations):
            if "GET" in operation.methods:
                head = operation.clone()
                head.methods = ["HEAD"]
                head.include_in_schema = False
                path_view.operations.append(head)
    return router
