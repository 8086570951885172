"""The Function App: creates the app and registers each module's blueprint. Nothing else.

No I/O and no environment reads happen at import time: settings and clients are created lazily
on first use, so the host can index the functions even when a setting is wrong.
"""

import azure.durable_functions as df
import azure.functions as func

from triggers import http_api

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(http_api.bp)
