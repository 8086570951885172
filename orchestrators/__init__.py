"""Durable orchestrators: deterministic generators that import only ``core`` and the Durable SDK.

``analysis_job`` (a per-document job, its inputs in ``analysis_batch`` sub-orchestrations),
``agentic_job`` (every document packaged into one PDF, analysed once), ``ensure_analyzer`` (create
or reuse an analyzer) and ``monitor_operation`` (poll one CU operation with durable timers).
``tasks`` calls activities and sub-orchestrations through their contracts (``core.contracts``) and
turns every way they end into one ``Outcome``; ``cancellation`` lets a cancel cut every wait short;
``context`` is the typed interface of the orchestration context they use. No I/O, clock,
environment or randomness (tests/orchestrators, which also drive them with a fake context).
"""
