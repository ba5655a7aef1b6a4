"""The gateway's shared machinery: what every route goes through (security, csrf, auth), how it
answers (http, errors, pages), how it is described (openapi) and served (server). Imports no
feature package: the features import it."""
