"""The durable runtime: what the Durable extension, DTFx and the Azure Storage provider do.

``store`` keeps the state in SQLite (the provider's tables and queues, plus the host's keys and
blob receipts); ``wire`` writes history events as DTFx does; ``replay`` walks the actions an
orchestrator returns as the extension's shim and DTFx do (sequence ids, retries, non-determinism);
``episode`` turns a batch of queued messages into one orchestrator call and what it writes back;
``engine`` is the dispatcher that runs episodes and activities; ``clock`` is real or virtual time.
"""
