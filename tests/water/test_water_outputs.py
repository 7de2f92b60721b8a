"""What leaves the analysis layer: compact LLM results, pictures, map JSON and the analysis registry."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from hydronet.water.compact import compact
from hydronet.water.errors import AnalysisInputError, AnalysisTimeout
from hydronet.water.geojson import map_geojson
from hydronet.water.hydraulics import hydraulic
from hydronet.water.plots import render_map, render_timeseries
from hydronet.water.registry import ANALYSES, run_analysis
from hydronet.water.timeseries import timeseries

PARAMS: dict[str, dict[str, Any]] = {
    "summary": {},
    "hydraulic": {"duration_h": 24},
    "timeseries": {"element": "10", "variable": "flowrate", "duration_h": 24},
    "water_age": {"duration_h": 72},
    "resilience": {"duration_h": 24},
    "topology": {},
    "pipe_criticality": {"duration_h": 6, "max_pipes": 4},
    "fire_flow": {"duration_h": 6, "max_hydrants": 4},
    "segment_criticality": {"duration_h": 6, "max_segments": 3},
    "leak_scenario": {"junction": "123", "duration_h": 6},
    "what_if": {"close_pipes": ["189"], "duration_h": 6},
}
_RESULTS: dict[str, dict[str, Any]] = {}

# WNTR fits a curve to 3-point pump curves and warns when it cannot estimate a covariance.
pytestmark = pytest.mark.filterwarnings("ignore::scipy.optimize.OptimizeWarning")


def _full(model: Callable, name: str) -> dict[str, Any]:
    """The full Net3 result of an analysis, run once per test session."""
    if name not in _RESULTS:
        _RESULTS[name] = run_analysis(name, model("Net3"), PARAMS[name])
    return _RESULTS[name]


def _floats(value: Any) -> list[float]:
    """Every float inside a nested result."""
    if isinstance(value, dict):
        return [f for item in value.values() for f in _floats(item)]
    if isinstance(value, list):
        return [f for item in value for f in _floats(item)]
    return [value] if isinstance(value, float) else []


def _significant(value: float) -> int:
    """Number of significant digits after the integer part is accounted for."""
    text = repr(abs(value)).split("e")[0].rstrip("0").rstrip(".")  # 8.21e-05 has 3
    digits = text.replace(".", "").lstrip("0")
    return len(digits)


def test_every_analysis_has_a_params_case() -> None:
    """The parametrized cases below cover the whole registry."""
    assert set(PARAMS) == set(ANALYSES)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_full_results_are_strict_json(model: Callable, name: str) -> None:
    """No NaN, numpy scalars or other non-JSON values escape."""
    json.dumps(_full(model, name), allow_nan=False)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_compact_is_small_rounded_and_keeps_names(model: Callable, name: str) -> None:
    """The LLM sees a few KB at most, short lists, 3-significant-digit numbers and no time series."""
    full = _full(model, name)
    small = compact(full, name)
    text = json.dumps(small, allow_nan=False, ensure_ascii=False)
    assert len(text) <= 4000
    assert len(text) <= len(json.dumps(full))
    assert all(_significant(f) <= 3 or abs(f) >= 100 for f in _floats(small))
    assert "points" not in small and "leak_flow_series" not in small and "node_min_pressure_m" not in small
    for key, value in small.items():
        if isinstance(value, list):
            assert len(value) <= 10
            if len(full[key]) > 10:
                assert small[f"{key}_total"] == len(full[key])


def test_compact_rounding_keeps_integer_digits_and_times() -> None:
    """Large numbers and times are not mangled by significant-digit rounding."""
    small = compact(
        {
            "lost_volume_m3": 8097.042,
            "time_s": 151200,
            "pressure_m": 13.51854,
            "ok": True,
            "rows": [{"v": 0.000123456}] * 12,
        },
        "leak_scenario",
    )
    assert small == {
        "lost_volume_m3": 8097.0,
        "time_s": 151200,
        "pressure_m": 13.5,
        "ok": True,
        "rows": [{"v": 0.000123}] * 10,
        "rows_total": 12,
    }


def test_compact_cuts_lists_further_to_fit_the_budget() -> None:
    """Long names in many rows are cut to fewer rows until the JSON fits."""
    small = compact({"rows": [{"name": "x" * 500, "value_m": 1.23456}] * 50}, "what_if")
    assert len(json.dumps(small)) <= 4000
    assert small["rows_total"] == 50 and 1 <= len(small["rows"]) < 10


def test_short_analyses_honour_a_wall_clock_limit(model: Callable) -> None:
    """run_analysis gives up on a non-iterative analysis that exceeds time_limit_s."""
    with pytest.raises(AnalysisTimeout):
        run_analysis("hydraulic", model("Net3"), {}, time_limit_s=0.000001)


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_render_map_returns_a_valid_picture(model: Callable, fmt: str) -> None:
    """Coloured by minimum pressure, the map is a real PNG or a parseable SVG."""
    wn = model("Net3")
    values = hydraulic(wn, duration_h=24)["node_min_pressure_m"]
    picture = render_map(wn, values, "Net3 minimum pressure", fmt=fmt, value_label="pressure (m)")
    _assert_picture(picture, fmt)


def test_render_map_colours_links_and_handles_no_values(model: Callable) -> None:
    """Link values (e.g. criticality) and a plain map both render."""
    wn = model("Net1")
    _assert_picture(render_map(wn, None, "plain"), "png")
    _assert_picture(render_map(wn, None, "links", link_values={"10": 8, "11": 0}), "png")


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_render_timeseries_returns_a_valid_picture(model: Callable, fmt: str) -> None:
    """One or several series become a line chart."""
    wn = model("Net1")
    one = timeseries(wn, "2", "head")
    _assert_picture(render_timeseries(one, "Tank 2 head", fmt=fmt), fmt)
    _assert_picture(render_timeseries([one, timeseries(wn, "10", "head")], "heads", "m", fmt=fmt), fmt)


def test_unknown_picture_format_is_an_input_error(model: Callable) -> None:
    """Only PNG and SVG are produced."""
    with pytest.raises(AnalysisInputError, match="fmt"):
        render_map(model("Net1"), None, "x", fmt="gif")


def _assert_picture(data: bytes, fmt: str) -> None:
    """PNG magic number, or well-formed SVG XML."""
    if fmt == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000
    else:
        assert ET.fromstring(data).tag.endswith("svg")


def test_map_geojson_describes_every_node_and_link(model: Callable) -> None:
    """Nodes are Points with type and value; links are polylines through their vertices."""
    wn = model("Net1")
    data = map_geojson(wn, {"10": 50.0, "11": None}, {"10": 3})
    json.dumps(data, allow_nan=False)
    nodes = [f for f in data["features"] if f["properties"]["kind"] == "node"]
    links = [f for f in data["features"] if f["properties"]["kind"] == "link"]
    assert len(nodes) == wn.num_nodes and len(links) == wn.num_links
    node10 = next(f for f in nodes if f["properties"]["name"] == "10")
    assert node10["geometry"]["coordinates"] == list(wn.get_node("10").coordinates)
    assert node10["properties"]["value"] == 50.0 and node10["properties"]["type"] == "Junction"
    pipe = next(f for f in links if f["properties"]["name"] == "10")
    assert pipe["geometry"]["type"] == "LineString" and len(pipe["geometry"]["coordinates"]) >= 2
    assert data["node_value_range"] == [50.0, 50.0] and data["link_value_range"] == [3.0, 3.0]


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_registry_schemas_are_precise_json_schemas(name: str) -> None:
    """Each schema is valid, closed, typed and bounded, and its defaults satisfy it."""
    spec = ANALYSES[name]
    jsonschema.Draft202012Validator.check_schema(spec.parameters)
    assert spec.parameters["additionalProperties"] is False
    for key, prop in spec.parameters["properties"].items():
        assert "type" in prop and prop.get("description"), key
        if prop["type"] in ("number", "integer"):
            assert "minimum" in prop and "maximum" in prop, key
        if "default" in prop:
            jsonschema.validate(prop["default"], prop)
    filled = spec.validate(PARAMS[name])
    assert {key for key, prop in spec.parameters["properties"].items() if "default" in prop} <= set(filled)
    assert set(spec.parameters["required"]) <= set(spec.parameters["properties"])
    assert spec.long == (name in ("pipe_criticality", "fire_flow", "segment_criticality"))


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("hydraulic", {"duration_h": -5}, "duration_h"),
        ("hydraulic", {"demand_model": "XX"}, "demand_model"),
        ("hydraulic", {"colour": 1}, "Additional properties"),
        ("timeseries", {"element": "10"}, "variable"),
        ("pipe_criticality", {"max_pipes": 0}, "max_pipes"),
        ("pipe_criticality", {"engine": "epanet22"}, "engine"),
        ("pipe_criticality", {"demand_only": "yes"}, "demand_only"),
        ("pipe_criticality", {"max_diameter_m": -1}, "max_diameter_m"),
        ("segment_criticality", {"placement": "everywhere"}, "placement"),
        ("leak_scenario", {"junction": "10", "kind": "flood"}, "kind"),
        ("what_if", {"pump_status": {"10": "HALF"}}, "pump_status"),
        ("nope", {}, "unknown analysis"),
    ],
)
def test_run_analysis_validates_against_the_schema(model: Callable, name: str, params: dict, message: str) -> None:
    """Schema violations become AnalysisInputError naming the parameter."""
    with pytest.raises(AnalysisInputError, match=message):
        run_analysis(name, model("Net1"), params)


def test_run_analysis_fills_defaults_and_coerces_integers(model: Callable) -> None:
    """Omitted parameters take their schema defaults; 5.0 is accepted as an integer."""
    result = run_analysis("pipe_criticality", model("Net1"), {"max_pipes": 2.0, "duration_h": 2})
    assert result["pipes_considered"] == 2
    assert (
        result["settings"]["pressure_threshold_m"]
        == ANALYSES["pipe_criticality"].parameters["properties"]["pressure_threshold_m"]["default"]
    )
    assert not math.isnan(result["ranking"][0]["diameter_m"])
