"""Durable activities: the job's single steps, each a thin decorated shell over a plain function.

``batch`` (a per-document job's steps: prepare an input, start deferred analyses, poll a batch's
operations, record a batch; plain typed functions in ``batch_steps``), ``storage`` (ingest, SAS
grants, packaging, the result index, clean-up; in ``storage_steps``) and ``analysis`` (Content
Understanding calls; in ``cu_steps``). ``boundary`` turns a payload into the activity's request
type (``core.contracts``), refuses work a canceled job would start, opens the activity's telemetry
span and applies the error policy of ``envelope``: transient failures raise so the host retries
them, permanent ones come back as data.
"""
