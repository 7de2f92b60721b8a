"""Every analysis names its method and the defaults it used, each with its source."""

from __future__ import annotations

import pytest

from hydronet.water.registry import run_analysis
from tests.water.conftest import fresh_model

CASES = {
    "hydraulic": {},
    "resilience": {},
    "water_age": {"duration_h": 72},
    "pipe_criticality": {"min_diameter_m": 0.6},
    "fire_flow": {},
    "leak_scenario": {"junction": "10"},
    "what_if": {"demand_multiplier": 1.2},
    "segment_criticality": {},
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_result_states_its_method_and_the_sources_of_its_defaults(kind):
    result = run_analysis(kind, fresh_model("Net3"), CASES[kind])
    settings = result["settings"]
    assert isinstance(settings.get("method"), str) and len(settings["method"]) > 40, kind
    assert settings.get("engine"), kind
    for name, used in (settings.get("defaults") or {}).items():
        assert used.get("source") and "value" in used, (kind, name)
    assert isinstance(result.get("warnings"), list), kind
