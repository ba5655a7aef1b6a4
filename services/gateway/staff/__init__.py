"""The staff's own routes: sign-in and sign-out, the captured mail, the message log and the
registration desk's JSON API (see routes)."""
