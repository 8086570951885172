"""The Functions side: what the Functions host and the Python worker do with an app.

``config`` reads ``host.json`` and settings files; ``app_loader`` executes ``function_app.py``
and indexes its functions; ``invoke`` calls them as the worker does (trigger converters, bindings
by name, sync ones in a thread pool); ``http_functions`` and ``routes`` serve ``/api/...``;
``blob_triggers`` scans containers and takes Event Grid posts; ``keys`` holds the function keys.
"""
