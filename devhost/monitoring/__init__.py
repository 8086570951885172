"""What the portal's monitoring shows, locally: ``status_page`` lists instances and their histories.

The lifecycle log lines (``id: Function 'name (Orchestrator)' started...``) are written by the
durable runtime (``devhost.durable``), as the extension writes them.
"""
