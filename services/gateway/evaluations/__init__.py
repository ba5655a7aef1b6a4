"""The evaluations: the participants' survey page and the staff's figures (see routes)."""
