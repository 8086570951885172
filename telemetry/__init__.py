"""The app's telemetry: OpenTelemetry spans and log attributes at the app's three edges.

- ``setup``: ``configure_telemetry()`` sends to Application Insights through
  ``azure-monitor-opentelemetry`` when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set, and does
  nothing otherwise (locally and in tests nothing phones home); ``install`` puts the same
  processors on providers that tests build with in-memory exporters.
- ``context``: the job context (job id, input index, CU operation id) of the work running now;
  ``processors`` copy it onto every span and every log record.
- ``activity``: a span per activity, opened by the activity boundary (``activities/boundary.py``).
- ``content_understanding``: a span per Content Understanding call, opened by the CU client.
- Storage calls get their spans from the Azure SDK's own tracing (``azure-core``'s
  ``DistributedTracingPolicy`` in every storage client's pipeline), which ``setup`` switches on:
  its URLs are sanitised (only allow-listed query parameters survive).

Attribute names live in ``core.telemetry_fields``. Only ids, counts, codes and durations are
recorded: no URL query string, key or document content.
"""
