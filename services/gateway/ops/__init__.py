"""Running the platform: /health, /metrics and Alertmanager's webhook (see routes)."""
