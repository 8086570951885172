"""Durable activities: the job's single steps, each a thin decorated shell over a plain function.

``storage`` (ingest, SAS grants, results, knowledge bases, clean-up; plain typed functions in
``storage_steps``) and ``analysis`` (Content Understanding calls; plain typed functions in
``cu_steps``). ``boundary`` turns a payload into the activity's request type (``core.contracts``)
and applies the error policy of ``envelope``: transient failures raise so the host retries them,
permanent ones come back as data.
"""
