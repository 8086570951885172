"""Functions triggers that start or serve jobs: the HTTP API routes and the blob-intake trigger.

Thin decorated shells over ``api/``.
"""
