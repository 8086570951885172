"""What the portal shows, locally: the monitoring pages and the host's distributed tracing.

- ``pages`` (routes), ``views`` (filters, the job tree, progress), ``timeline`` (the Gantt and
  readable history payloads) and ``render`` (HTML): the local counterpart of the Durable Task
  Scheduler dashboard at ``/``.
- ``tracing``: the spans the Functions host and the Durable extension would make (invocations,
  orchestrations, activities), so that the app's own telemetry lands in one trace per job.

The lifecycle log lines (``id: Function 'name (Orchestrator)' started...``) are written by the
durable runtime (``devhost.durable``), as the extension writes them.
"""
