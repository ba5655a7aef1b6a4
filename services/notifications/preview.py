"""Preview a notification template with sample data.

  python -m services.notifications.preview <template> [--lang en] [--format text|html|eml|ics]

Prints the subject and the plain text (default), the HTML, the whole email as sent (eml) or
the .ics attachment. `--list` shows the templates.
"""
from __future__ import annotations

import argparse
import sys

from kernel.rules import LANGUAGES
from services.notifications import rendering


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", help=f"one of: {', '.join(rendering.TEMPLATES)}")
    parser.add_argument("--lang", default="nl", choices=LANGUAGES)
    parser.add_argument("--format", default="text", choices=("text", "html", "eml", "ics"))
    parser.add_argument("--list", action="store_true", help="list the templates")
    args = parser.parse_args(argv)
    if args.list or not args.template:
        print("\n".join(rendering.TEMPLATES))
        return 0
    if args.template not in rendering.TEMPLATES:
        parser.error(f"unknown template {args.template!r}; one of: {', '.join(rendering.TEMPLATES)}")
    rendered = rendering.render(args.template, args.lang, rendering.sample_context(args.template))
    if args.format == "html":
        sys.stdout.write(rendered.html)
    elif args.format == "eml":
        message = rendering.email_message(rendered, "Steunpunt <noreply@steunpunt.invalid>", "ann@example.org",
                                          "00000000-0000-4000-8000-00000000abcd")
        sys.stdout.write(message.as_string())
    elif args.format == "ics":
        if not rendered.attachments:
            print(f"{args.template} has no .ics attachment", file=sys.stderr)
            return 1
        sys.stdout.write(rendered.attachments[0].content.decode("utf-8"))
    else:
        print(f"Subject: {rendered.subject}\n")
        sys.stdout.write(rendered.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
