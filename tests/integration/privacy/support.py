"""Shared by the privacy tests: every table of a service's database searched for personal strings."""
from __future__ import annotations

import email
import json
from email import policy

from sqlalchemy import MetaData, create_engine, select


def _texts(value) -> list[str]:
    """A stored value as the text(s) a person's data could hide in: kept mail is parsed, so a name in
    an encoded (quoted-printable, base64) body or header is found too."""
    if value is None:
        return []
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        texts = [raw.decode("utf-8", "replace")]
        message = email.message_from_bytes(raw, policy=policy.default)
        texts += [str(header) for header in message.values()]
        for part in message.walk():
            if part.is_multipart():
                continue
            try:
                content = part.get_content()
            except (LookupError, ValueError):
                continue
            texts.append(content if isinstance(content, str) else bytes(content).decode("utf-8", "replace"))
        return texts
    if isinstance(value, (dict, list)):
        return [json.dumps(value, ensure_ascii=False)]
    return [str(value)]


def personal_hits(url: str, needles) -> list[str]:
    """`table.column: needle` for every stored value containing one of `needles` (any case)."""
    engine = create_engine(url)
    hits = []
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)).mappings():
                    for column, value in row.items():
                        found = " ".join(_texts(value)).casefold()
                        hits += [f"{table.name}.{column}: {needle}" for needle in needles
                                 if needle.casefold() in found]
    finally:
        engine.dispose()
    return hits
