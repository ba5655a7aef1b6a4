"""Reading an organisations CSV, comparing it with the directory and signing the preview's rows."""
from __future__ import annotations

from services.gateway.core.i18n import translator
from services.gateway.organisations import forms

T = translator("en")
KEY = b"k" * 32


def test_rows_and_unreadable_lines_with_their_numbers():
    raw = ("name,type,recognised\n"
           "Vormingplus Gent,Landelijke vormingsinstelling,Ja\n"
           "\n"
           "Te veel,vereniging,ja,extra\n"
           "vormingplus gent,beweging,nee\n"
           "Café Samen,vereniging,oui\n").encode("cp1252")  # a spreadsheet's Windows encoding
    rows, unreadable = forms.read_csv(raw, T)
    assert rows == [
        {"line": 2, "name": "Vormingplus Gent", "org_type": "landelijke_vormingsinstelling", "recognised": True},
        {"line": 6, "name": "Café Samen", "org_type": "vereniging", "recognised": True}]
    assert unreadable == [(4, "This line does not have exactly 3 columns."), (5, "This name is already on line 2.")]


def test_a_file_without_the_header_is_refused_whole():
    rows, unreadable = forms.read_csv(b"Vormingplus Gent;vereniging;ja\n", T)
    assert rows == [] and unreadable == [(1, "The first line must name the columns: name, type, recognised.")]


def test_the_plan_matches_names_whatever_their_case():
    directory = [{"organisation_id": "o1", "name": "Gemeente Zottegem", "org_type": "overheid", "recognised": False},
                 {"organisation_id": "o2", "name": "Vereniging Samen", "org_type": "vereniging", "recognised": True}]
    rows = [{"line": 2, "name": "GEMEENTE zottegem", "org_type": "beweging", "recognised": True},
            {"line": 3, "name": "vereniging samen", "org_type": "vereniging", "recognised": True},
            {"line": 4, "name": "Nieuw", "org_type": "vereniging", "recognised": True}]
    plan = forms.plan_import(rows, directory)
    assert [r["name"] for r in plan.create] == ["Nieuw"]
    assert [(r["organisation_id"], r["was"]["org_type"]) for r in plan.update] == [("o1", "overheid")]
    assert [r["organisation_id"] for r in plan.unchanged] == ["o2"] and plan.changes == 2


def test_signed_rows_come_back_only_unaltered():
    rows = [{"line": 2, "name": "Café «Samen»", "org_type": "vereniging", "recognised": False}]
    signed = forms.sign_rows(KEY, rows)
    assert forms.signed_rows(KEY, signed) == rows
    body, _, signature = signed.partition(".")
    other = forms.sign_rows(KEY, [{**rows[0], "recognised": True}]).partition(".")[0]
    assert forms.signed_rows(KEY, f"{other}.{signature}") is None
    assert forms.signed_rows(b"another key" * 3, signed) is None
    assert forms.signed_rows(KEY, "") is None and forms.signed_rows(KEY, "not.signed") is None
