"""Cancelling a job: the names both sides agree on, and the error a refused step reports.

A cancel (``DELETE /api/analyses/{id}``) is cooperative, because Azure's terminate neither stops
work already queued (activities dequeued after it still run) nor reaches sub-orchestrations:

1. the API writes the job's cancel marker (``core.layout.cancel_marker_blob``), then
2. raises ``CANCEL_EVENT`` on the job and on its running sub-orchestrations;
3. activities that would start billed or lasting work check the marker first and refuse with
   ``JobCanceled`` (``activities/boundary.py``), so queued ones end at once;
4. the orchestrations stop starting anything new, wait for what is in flight, clean up and
   report ``canceled`` with what had completed (``orchestrators/cancellation.py``).
"""

from __future__ import annotations

from core.errors import ErrorInfo, PermanentError

CANCEL_EVENT = "CancelRequested"
CANCELED_CODE = "JobCanceled"


class JobCanceledError(PermanentError):
    """A step refused to start because its job's cancel was requested."""

    code = CANCELED_CODE


def canceled_error(what: str = "The job") -> ErrorInfo:
    return {"code": CANCELED_CODE, "message": f"{what} was canceled by the user", "transient": False}
