"""Input handling: bringing a job's documents into storage, from an upload, a blob or a URL.

``ingest`` streams each input into the job's folder (sniffed, size-checked, hashed, idempotent);
``references`` does the same for a pro-mode knowledge base's reference documents;
``url_fetch`` downloads user-supplied URLs behind an SSRF guard.
"""
