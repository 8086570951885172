"""Blob storage: the one client, SAS signing and grants, results, analyzer definitions.

``client`` (the process's ``BlobServiceClient``), ``errors`` (storage exceptions in the app's tree),
``streams`` (checked streaming writes), ``sas`` and ``grants`` (signed URLs kept out of history),
``results`` and ``result_document`` (CU results as blobs), ``analyzer_definitions`` (what
``PUT /api/analyzers`` registered), ``knowledge_base`` (pro-mode reference files).
"""
