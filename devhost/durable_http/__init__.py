"""The Durable HTTP API and the RPC endpoint that the SDK's durable client calls.

``api`` holds the handlers, mounted at ``/runtime/webhooks/durabletask/...`` on the public site
and on the RPC listener; ``client_binding`` builds the binding JSON that points the client there;
``status`` shapes the status JSON both answer with.
"""
