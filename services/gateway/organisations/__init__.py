"""The organisations directory for staff: list and search, create and edit, and the bulk import of
the recognised organisations from a CSV file with a preview (see routes)."""
