"""Durable orchestrators: deterministic generators that import only ``core`` and the Durable SDK.

``analysis_job`` (the job), ``ensure_analyzer`` (create or reuse an analyzer) and
``monitor_operation`` (poll one CU operation with durable timers); ``tasks`` holds the shared
fan-out and retry helpers. No I/O, clock, environment or randomness (tests/orchestrators).
"""
