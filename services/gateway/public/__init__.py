"""The public side of registration: the activity list, an activity with its registration form, the
cancel page, the privacy notice, and the same as JSON (see routes)."""
