"""Input handling: bringing a job's documents into storage, from an upload, a blob or a URL.

``sources`` is the registry of the places documents come from, one module per kind (``staged``
uploads, ``blob`` references, ``url`` downloads behind the SSRF guard of ``url_fetch``);
``ingest`` brings each input into the job's folder through its kind, into a ``destination``
(sniffed, size-checked, hashed, idempotent). ``packaging`` (with ``text_pdf``) makes an agentic
job's documents one PDF, which ``package`` reads and writes in storage.
"""
