"""Development scripts, never deployed.

The local stack (make serve), the demo (make demo), Azurite, vendoring helpers.
"""
