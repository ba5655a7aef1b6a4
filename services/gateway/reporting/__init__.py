"""Reporting: the KPIs as JSON, the printable annual report and the live dashboard (see routes)."""
