"""The pure core: the rules and data every other layer shares, and the only app code orchestrators import.

The job model and its status rules (``jobs``), the names of every orchestrator and activity
(``function_names``) and the typed request and result of each (``contracts``), safe names and ids
(``naming``), every container role and blob path (``layout``), content types (``media_types``, and
``content_types``, which sniffs them and checks them against CU's limits), one profile per Content
Understanding API version (``api_versions``: what each allows and requires), the error tree
(``errors``), secret redaction (``redact``), cancel (``cancellation``), the CU quota's pacing rules
(``pacing``), the fields table's rules (``result_table``), telemetry's attribute names
(``telemetry_fields``), the app version and its settings (``settings``:
``Settings.from_env`` is pure, ``get_settings()`` reads the environment once and is never called by
orchestrators). Nothing here does I/O.
"""
