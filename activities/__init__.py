"""Durable activities: the job's single steps, each a thin decorated shell over a plain function.

``storage`` (ingest, SAS grants, results, knowledge bases, clean-up) and ``analysis`` (Content
Understanding calls, with ``cu_steps`` holding their plain functions). Transient failures raise so
the host retries them; permanent ones come back as data (``envelope``).
"""
