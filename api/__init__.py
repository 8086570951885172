"""The front doors: the HTTP API's handlers and blob intake's planning, and what they share.

The HTTP contract as models (``models``: request validation, responses and the OpenAPI schemas
are all generated from them), request parsing and validation (``job_request``, ``multipart``),
turning a request into a job (``submission``), the analyses and analyzers handlers (``analyses``,
``analyzers``), blob intake (``intake``), RFC 9457 problems (``problems``), the OpenAPI document
(``openapi``) and the health report (``health``). ``triggers/`` binds these to Functions; nothing
here is decorated.
"""
