"""kernel.db engines keep bound values out of error texts (they may be personal data or tokens)."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kernel.db import make_engine


def test_an_integrity_error_names_no_bound_value(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE person (email TEXT UNIQUE)"))
        connection.execute(text("INSERT INTO person VALUES (:email)"), {"email": "zwaantje.q@example.org"})
    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(text("INSERT INTO person VALUES (:email)"), {"email": "zwaantje.q@example.org"})
    assert "UNIQUE" in str(raised.value)
    assert "zwaantje" not in str(raised.value)
    engine.dispose()
