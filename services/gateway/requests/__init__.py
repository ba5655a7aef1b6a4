"""The request desk: the public request form and the staff's JSON API of requests (see routes)."""
