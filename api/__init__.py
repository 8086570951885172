"""The front doors: the HTTP API's handlers and blob intake's planning, and what they share.

The HTTP contract as models (``models``: request validation, responses and the OpenAPI schemas
are all generated from them), request parsing and validation (``job_request``, ``multipart``,
``json_input``), turning a request into a job (``submission``), the analyses, results and
analyzers handlers (``analyses``, ``results``, ``analyzers``), cancel (``cancellation``), purging
(``retention``), blob intake (``intake``), RFC 9457 problems (``problems``) and the catch-all that
answers any unexpected error with one (``boundary``), the OpenAPI document (``openapi``) and the
health report (``health``). ``triggers/`` binds these to Functions; nothing here is decorated.
"""
