"""The gateway's service class is made of one routes class per feature: a name two features both
define would be silently taken from the first in the class's order, so no two may share one."""
from __future__ import annotations

from itertools import combinations

from services.gateway.service import GatewayService


def own_names(feature: type) -> set[str]:
    """What a feature defines, through the classes it is made of too."""
    return {name for part in feature.__mro__ if part is not object for name in vars(part)
            if not (name.startswith("__") and name.endswith("__"))}


def test_no_two_features_define_the_same_name():
    features = [base for base in GatewayService.__bases__ if base is not object]
    assert len(features) >= 7
    clashes = {(a.__name__, b.__name__): sorted(own_names(a) & own_names(b) - {"openapi_components"})
               for a, b in combinations(features, 2)}
    assert {pair: names for pair, names in clashes.items() if names} == {}
