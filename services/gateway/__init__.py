"""The gateway: the platform's single HTTP front door (JSON API, OpenAPI, HTML pages, /health).

It owns no data. Every answer comes from a service over nameko RPC; domain errors
(kernel.errors) cross RPC intact and become their HTTP status here.

Layout, one package per feature, each with its routes, templates and OpenAPI description together:

- core/: what every route goes through and uses, and imports no feature: `security` (the one
  `@http` of every route: CSRF, rate limits, body limits, security headers), `csrf`, `auth`
  (`@require(role)`), `http` and `errors` (JSON in and out, errors as answers), `pages` (Jinja
  pages in the visitor's language; the shared templates in core/templates), `openapi` (the
  `@operation` a route declares its OpenAPI description with, and the builder that walks the
  routes), `server` (the HTTP server's limits), `urls`, `forms`, `i18n` (the visitor's language
  and the pages' gettext catalog, locale/<language>/LC_MESSAGES/pages.po, every feature's words);
- public/: the activity list, an activity with its registration form, the cancel page, the
  privacy notice, and the public registration JSON API;
- staff/: staff sign-in and sign-out, the captured mail, the message log and the registration
  desk's JSON API (organisations, activities, registrations);
- requests/: the public request form and the request desk's JSON API;
- evaluations/: the participants' survey page and the staff's evaluation figures;
- reporting/: the KPIs, the printable annual report and the live dashboard;
- ops/: /health, /metrics and Alertmanager's webhook.

Composition: nameko finds a service's entrypoints and dependencies on its class, so each feature
has one routes class (`PublicRoutes`, `StaffRoutes`, ...) and service.GatewayService lists them
as its bases: the class names every feature once and declares the RPC proxies they call. A
feature's templates are found by name with the feature's prefix ("requests/new.html"); its
OpenAPI components are its routes class's `openapi_components`.
"""
