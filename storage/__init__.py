"""Blob storage: the one client, SAS signing and grants, results, analyzer definitions, shared state.

``client`` (the process's ``BlobServiceClient``), ``errors`` (storage exceptions in the app's tree),
``streams`` (checked streaming writes), ``sas`` and ``grants`` (signed URLs kept out of history),
``results``, ``result_document`` and ``field_table`` (CU results as blobs, the job's result index,
the fields table's columns), ``analyzer_definitions`` (what ``PUT /api/analyzers`` registered),
``cancellation`` (a job's cancel marker) and ``pacing`` (the CU quota ledger every job shares).
"""
