"""Development scripts, never deployed: the local stack (make serve), the demo (make demo), Azurite, vendoring helpers."""
