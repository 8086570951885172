"""Typed contracts between orchestrators and the functions they call.

``activities`` and ``orchestrations`` declare one request and one result type per activity and
sub-orchestration, each paired with its function name in a contract object (``named``);
``wire`` turns them into the plain JSON objects history holds, and back, checking as it goes.
Pure: both orchestrators and activities import it.
"""
