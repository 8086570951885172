"""devhost: a local Durable Functions host that runs an app's function_app.py unchanged.

A development and test tool, never deployed (see docs/devhost.md). One package per component
of the real host: ``durable`` (the Durable extension, DTFx and the Azure Storage provider),
``functions`` (the Functions host and the Python worker), ``durable_http`` (the Durable HTTP API
and the SDK's RPC endpoint), ``monitoring`` (the status page); ``host`` wires them together.
Public API:

    DevHost(app_dir, *, settings=None, state_dir, port=0, rpc_port=0, clock=None,
            enforce_keys=False, blob_poll_interval=2.0)   # an async context manager
    RealClock(), VirtualClock(start=None, *, auto_advance=True)

Command line: `python -m devhost start --app-dir DIR --port 7071 --settings FILE --state-dir DIR`.
"""

from devhost.durable.clock import Clock, RealClock, VirtualClock
from devhost.errors import AppLoadError, DevHostError, ManagementError
from devhost.host import DevHost

__all__ = ["AppLoadError", "Clock", "DevHost", "DevHostError", "ManagementError", "RealClock", "VirtualClock"]
