"""The reporting unit cache: entries are used only while their stored token is unchanged."""
from services.reporting import domain, store


def test_a_unit_written_elsewhere_is_read_again():
    """A cached unit whose stored token changed (another worker, a rebuild) is not used."""
    cache = store.UnitCache()
    contribution = domain.Contribution(counters={("year:2025", "participants"): 1})
    cache.keep({"activity:a1": ("token-1", "facts of a1", contribution),
                "activity:a2": ("token-2", "facts of a2", contribution)})

    class Session:
        def execute(self, query):
            class Rows:
                def all(self):
                    return [("activity:a1", "token-1"), ("activity:a2", "token-9")]
            return Rows()

    assert cache.take(Session(), ["activity:a1", "activity:a2"]) == {"activity:a1": ("facts of a1", contribution)}
    assert cache.take(Session(), ["activity:a1"]) == {}  # taken: it comes back only after a commit
