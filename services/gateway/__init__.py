"""The gateway: the platform's single HTTP front door (JSON API, OpenAPI, public pages, /health)."""
