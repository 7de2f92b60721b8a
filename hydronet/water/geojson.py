"""A GeoJSON-like description of the network for drawing in the browser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wntr.network import WaterNetworkModel

from hydronet.water.jsonify import num

Values = Mapping[str, float | None]


def map_geojson(
    wn: WaterNetworkModel, node_values: Values | None = None, link_values: Values | None = None
) -> dict[str, Any]:
    """A FeatureCollection: nodes as Points, links as LineStrings (with vertices), optional values.

    Coordinates are the model's own x/y (usually not longitude/latitude), so draw them on a
    plain canvas; ``value_range`` helps build a colour scale.
    """
    node_values = node_values or {}
    link_values = link_values or {}
    features = [_node_feature(name, node, node_values.get(name)) for name, node in wn.nodes()]
    features += [_link_feature(wn, name, link, link_values.get(name)) for name, link in wn.links()]
    return {
        "type": "FeatureCollection",
        "features": features,
        "node_value_range": _value_range(node_values),
        "link_value_range": _value_range(link_values),
    }


def _node_feature(name: str, node: Any, value: float | None) -> dict[str, Any]:
    """One node as a Point feature."""
    x, y = node.coordinates or (0.0, 0.0)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [num(x), num(y)]},
        "properties": {
            "name": name,
            "kind": "node",
            "type": node.node_type,
            "elevation_m": num(getattr(node, "elevation", None)),
            "value": num(value),
        },
    }


def _link_feature(wn: WaterNetworkModel, name: str, link: Any, value: float | None) -> dict[str, Any]:
    """One link as a LineString feature through its vertices."""
    start, end = wn.get_node(link.start_node_name), wn.get_node(link.end_node_name)
    points = [start.coordinates, *link.vertices, end.coordinates]
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[num(x), num(y)] for x, y in points]},
        "properties": {
            "name": name,
            "kind": "link",
            "type": link.link_type,
            "diameter_m": num(getattr(link, "diameter", None)),
            "value": num(value),
        },
    }


def _value_range(values: Values) -> list[float] | None:
    """``[min, max]`` of the non-null values."""
    present = [v for v in (num(value) for value in values.values()) if v is not None]
    return [min(present), max(present)] if present else None
