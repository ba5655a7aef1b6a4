"""The staff activity form without a broker: local Brussels times to aware ISO timestamps (summer and
winter), the obvious mistakes caught in the viewer's language, an activity shown back in local time,
and what makes an activity need attention."""
from __future__ import annotations

from services.gateway.activities import forms
from services.gateway.activities.routes import attention_reasons, csv_cell, needs_summary
from services.gateway.core.i18n import translator

t = translator("en")


def typed(**overrides) -> dict:
    values = {**forms.blank_values(), "title": "Vorming", "kind": "vorming", "theme": "bestuur",
              "starts_at": "2026-07-01T09:00", "ends_at": "2026-07-01T16:30", "days": "1", "dagdelen": "2"}
    values.update(overrides)
    return values


def test_local_times_become_aware_timestamps_in_summer_and_winter():
    errors, payload = forms.check(typed(), t)
    assert not errors
    assert (payload["starts_at"], payload["ends_at"]) == ("2026-07-01T09:00:00+02:00", "2026-07-01T16:30:00+02:00")
    _, winter = forms.check(typed(starts_at="2026-01-05T09:00", ends_at="2026-01-05T12:00"), t)
    assert winter["starts_at"] == "2026-01-05T09:00:00+01:00"
    assert (payload["days"], payload["capacity"], payload["price_eur"], payload["goal"]) == (1, None, "0.00", None)


def test_the_obvious_mistakes_are_named_per_field():
    errors, _ = forms.check(typed(title="", kind="picknick", days="1.5", dagdelen="0", ends_at="2026-06-30T09:00",
                                  format="online", price_eur="-3", starts_at="tomorrow"), t)
    assert set(errors.messages) == {"title", "kind", "days", "dagdelen", "online_link", "price_eur", "starts_at"}
    assert errors.messages["title"] == ["Fill this in."]
    errors, _ = forms.check(typed(ends_at="2026-07-01T08:00"), t)
    assert errors.messages == {"ends_at": ["The end is before the start."]}
    assert [name for name, _ in errors.ordered()] == ["ends_at"]


def test_an_activity_is_shown_in_local_time_and_a_price_with_cents():
    values = forms.values_from_activity({"title": "x", "starts_at": "2026-07-01T07:00:00+00:00", "ends_at": None,
                                         "price_eur": 12.5, "reduced_price_eur": None, "capacity": None,
                                         "invitation_only": True})
    assert (values["starts_at"], values["ends_at"], values["price_eur"], values["reduced_price_eur"]) == (
        "2026-07-01T09:00", "", "12.50", "")
    assert values["capacity"] == "" and values["invitation_only"] is True


def test_what_needs_attention_is_the_services_word_in_the_catalogue():
    assert attention_reasons({"attention": ["full", "minimum_not_reached"]}) == [
        "activities_attention_full", "activities_attention_minimum_not_reached"]
    assert attention_reasons({"status": "completed"}) == []


def test_needs_count_the_confirmed_only_and_cells_never_run_as_formulas():
    registrations = [
        {"name": "Ann", "status": "confirmed", "needs": {"childcare": True, "dietary": "halal"}},
        {"name": "Bert", "status": "cancelled", "needs": {"childcare": True}},
    ]
    summary = {need["key"]: need["who"] for need in needs_summary(registrations)}
    assert summary["childcare"] == [{"name": "Ann", "text": None}]
    assert summary["dietary"] == [{"name": "Ann", "text": "halal"}]
    assert summary["sign_language_interpreter"] == []
    assert [csv_cell(v) for v in ("=1+1", "@SUM", "Ann", True, None, 3)] == ["'=1+1", "'@SUM", "Ann", "1", "", "3"]
