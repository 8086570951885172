"""Input handling: bringing a job's documents into storage, from an upload, a blob or a URL.

``sources`` is the registry of the places documents come from, one module per kind (``staged``
uploads, ``blob`` references, ``url`` downloads behind the SSRF guard of ``url_fetch``);
``ingest`` brings each input into the job's folder through its kind, into a ``destination``
(sniffed, size-checked, hashed, idempotent); ``references`` does the same for a pro-mode
knowledge base's reference documents.
"""
