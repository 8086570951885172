"""The pure core: the rules and data every other layer shares, and the only app code orchestrators import.

The job model and its status rules (``jobs``), the names of every orchestrator and activity
(``function_names``), safe names and ids (``naming``), every container role and blob path
(``layout``), content types and their limits
(``content_types``), the error tree (``errors``), secret redaction (``redact``), the app version and
its settings (``settings``: ``Settings.from_env`` is pure, ``get_settings()`` reads the environment
once and is never called by orchestrators). Nothing here does I/O.
"""
