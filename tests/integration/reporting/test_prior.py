"""Prior years through the ops command (python -m ops reporting ...) on SQLite and
PostgreSQL: a live year exported and imported back as a prior year has the same figures; a file
that does not fit the document is refused whole, with every line it could not read."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

import ops
from services.reporting import prior, store
from services.reporting.models import prior_figures
from tests.integration.reporting import stream
from tests.integration.reporting.test_store import feed, reporting_db  # noqa: F401 - the fixture


@pytest.fixture
def reporting(reporting_db, tmp_path):  # noqa: F811 - the fixture imported above
    """The reporting database with known_stream ingested, and a config file naming it."""
    feed(reporting_db, stream.shuffled_with_duplicates(stream.known_stream(), seed=13), seed=6)
    url = reporting_db.url
    config_file = tmp_path / "config.yml"
    config_file.write_text(json.dumps({"DATABASES": {"reporting": url}}), encoding="utf-8")
    return reporting_db, str(config_file)


def ops_reporting(config_file: str, *argv) -> int:
    return ops.main(["--config", config_file, "reporting", *argv])


def imported(database) -> dict:
    with database.read() as session:
        return dict(prior.documents_before(session, 3000, 20))


def live(database, year: int) -> dict:
    with database.read() as session:
        document = store.annual(session, year)
    document.pop("year")
    return document


def test_a_year_exported_and_imported_back_has_the_same_figures(reporting, tmp_path, capsys):
    database, config_file = reporting
    exported = tmp_path / "2026.csv"
    assert ops_reporting(config_file, "export-year", "2026", "--output", str(exported)) == 0
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "period,figure,value"
    assert "2026,totals.activities,3" in lines and "2026,open_offer.by_goal.SD2.OD1.participants,4" in lines
    assert "2026,open_offer.avg_dagdelen_per_activity,2.0" in lines and "2026,open_offer.satisfaction_pct,68.3" in lines
    assert ops_reporting(config_file, "import-prior", str(exported)) == 0
    assert "imported 2026:" in capsys.readouterr().out
    assert imported(database) == {"2026": live(database, 2026)}

    # the same figures as JSON, as the 2011-2015 averages; the 2026 import stays as it was
    as_json = tmp_path / "averages.json"
    as_json.write_text(json.dumps([{"period": "2011-2015", "figures": prior.flatten(live(database, 2025))}]),
                       encoding="utf-8")
    assert ops_reporting(config_file, "import-prior", str(as_json)) == 0
    assert imported(database) == {"2011-2015": live(database, 2025), "2026": live(database, 2026)}
    with database.read() as session:  # kept apart: the live figures are not touched
        assert store.annual(session, 2026) == stream.expected_annual(stream.known_stream(), 2026)


def test_a_file_that_does_not_fit_is_refused_whole_with_the_lines_it_could_not_read(reporting, tmp_path, capsys):
    database, config_file = reporting
    good = tmp_path / "good.csv"
    good.write_text("period,figure,value\n2016,open_offer.activities,45\n", encoding="utf-8")
    assert ops_reporting(config_file, "import-prior", str(good)) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("period,figure,value\n"
                   "2017,open_offer.activities,51\n"  # fine, but the file as a whole is refused
                   "2017,open_offer.activitees,3\n"  # no such figure
                   "2017,open_offer.dagdelen,many\n"  # not a number
                   "20xx,open_offer.dagdelen,4\n"  # not a period
                   "2017,open_offer.participants_by_org_type.club,4\n"  # not an organisation type
                   "2017,open_offer.by_goal.SD1.OD4.hours,4\n"  # not a measure of a breakdown
                   "2017,open_offer.activities\n"  # a value missing
                   "2017,open_offer.activities,52\n", encoding="utf-8")  # twice
    capsys.readouterr()
    assert ops_reporting(config_file, "import-prior", str(bad)) == 1
    err = capsys.readouterr().err
    assert "refused, nothing imported: 7 line(s) could not be read" in err
    for number in (3, 4, 5, 6, 7, 8, 9):
        assert f"  line {number}: " in err, number
    assert "line 2:" not in err
    assert "the document has no figure 'open_offer.activitees'" in err
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(prior_figures)) == 1
    assert imported(database)["2016"]["open_offer"]["activities"] == 45
    assert "2017" not in imported(database)

    wrong_header = tmp_path / "header.csv"
    wrong_header.write_text("year,figure,value\n2017,open_offer.activities,51\n", encoding="utf-8")
    assert ops_reporting(config_file, "import-prior", str(wrong_header)) == 1
    assert "line 1: the header must be period,figure,value" in capsys.readouterr().err
    not_a_list = tmp_path / "prior.json"
    not_a_list.write_text(json.dumps({"2017": {"open_offer.activities": 51}}), encoding="utf-8")
    assert ops_reporting(config_file, "import-prior", str(not_a_list)) == 1
    assert "the file must hold a list of periods" in capsys.readouterr().err


def test_a_goal_with_dots_travels_back_as_one_key():
    figures = {"open_offer.by_goal.SD1.OD4.activities": 2, "demand_driven.requests_delivered_by_goal.SD2.OD1": 1}
    document = prior.unflatten(prior.parse(io.StringIO(prior.to_csv(2016, prior.unflatten(figures))).read())["2016"])
    assert document["open_offer"]["by_goal"] == {"SD1.OD4": {"activities": 2}}
    assert document["demand_driven"]["requests_delivered_by_goal"] == {"SD2.OD1": 1}
    assert document["open_offer"]["activities"] is None  # not in the file: not known
