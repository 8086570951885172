"""The app's version, reported by ``GET /api/health``. Bump it with every release."""

APP_VERSION = "0.1.0"
