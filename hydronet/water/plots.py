"""Static pictures (PNG/SVG bytes) of network maps and time series, drawn with matplotlib Agg."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot; we draw on Figure objects only (thread-safe)

from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from wntr.network import WaterNetworkModel  # noqa: E402

from hydronet.water.errors import AnalysisInputError  # noqa: E402

FORMATS = ("png", "svg")
_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
_NODE_MARKERS = {"Junction": ("o", 12), "Tank": ("s", 60), "Reservoir": ("^", 70)}


def render_map(
    wn: WaterNetworkModel,
    node_values: Mapping[str, float | None] | None = None,
    title: str = "",
    fmt: str = "png",
    link_values: Mapping[str, float | None] | None = None,
    value_label: str = "",
    cmap: str = "viridis",
) -> bytes:
    """The network drawn from its coordinates, nodes and/or links coloured by values, with a colour bar."""
    fig, ax = _figure((8.0, 6.5))
    colour_source = _draw_links(ax, wn, link_values, cmap)
    node_source = _draw_nodes(ax, wn, node_values, cmap)
    mappable = node_source or colour_source
    if mappable is not None:
        fig.colorbar(mappable, ax=ax, shrink=0.8, label=value_label)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return _save(fig, fmt)


def render_timeseries(
    series: Mapping[str, Any] | Sequence[Mapping[str, Any]], title: str = "", ylabel: str = "", fmt: str = "png"
) -> bytes:
    """A line chart of one or more :func:`timeseries` results (x axis in hours)."""
    items = [series] if isinstance(series, Mapping) else list(series)
    fig, ax = _figure((8.0, 4.0))
    for item in items:
        points = item.get("points", [])
        label = f"{item.get('element', '')} {item.get('variable', '')}".strip()
        ax.plot([p["time_h"] for p in points], [p["value"] for p in points], label=label or None, linewidth=1.5)
    ax.set_xlabel("time (h)")
    ax.set_ylabel(ylabel or (f"{items[0].get('variable', '')} ({items[0].get('unit', '')})" if items else ""))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(items) > 1:
        ax.legend()
    return _save(fig, fmt)


def _figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    """A pyplot-free figure with one axes, using a CJK-capable font when one is installed."""
    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _draw_links(ax: Axes, wn: WaterNetworkModel, values: Mapping[str, float | None] | None, cmap: str) -> Any:
    """Links as polylines; coloured by ``values`` when given (returned as the colour-bar source)."""
    segments, colours = [], []
    for name, link in wn.links():
        start = wn.get_node(link.start_node_name).coordinates
        end = wn.get_node(link.end_node_name).coordinates
        segments.append([start, *link.vertices, end])
        colours.append(None if values is None else values.get(name))
    known = [value for value in colours if value is not None]
    if not known:
        ax.add_collection(LineCollection(segments, colors="#8a8a8a", linewidths=1.0, zorder=1))
        return None
    plain = [segment for segment, value in zip(segments, colours, strict=True) if value is None]
    valued = [segment for segment, value in zip(segments, colours, strict=True) if value is not None]
    grey = LineCollection(plain, colors="#c8c8c8", linewidths=0.8, zorder=1)
    coloured = LineCollection(valued, cmap=cmap, linewidths=2.0, zorder=2)
    coloured.set_array([float(v) for v in known])
    ax.add_collection(grey)
    ax.add_collection(coloured)
    return coloured


def _draw_nodes(ax: Axes, wn: WaterNetworkModel, values: Mapping[str, float | None] | None, cmap: str) -> Any:
    """Nodes by type; nodes with a value are coloured (and returned as the colour-bar source)."""
    known = {name: float(value) for name, value in (values or {}).items() if value is not None}
    limits = (min(known.values()), max(known.values())) if known else (0.0, 1.0)
    mappable = None
    for node_type, (marker, size) in _NODE_MARKERS.items():
        names = [name for name, node in wn.nodes() if node.node_type == node_type]
        plain = [name for name in names if name not in known]
        valued = [name for name in names if name in known]
        if plain:
            xs, ys = _xy(wn, plain)
            junction = node_type == "Junction"
            ax.scatter(
                xs, ys, marker=marker, s=6 if junction else size, c="#404040" if junction else "#1f5fa8", zorder=3
            )
        if valued:
            xs, ys = _xy(wn, valued)
            mappable = ax.scatter(
                xs,
                ys,
                marker=marker,
                s=size * 2,
                c=[known[name] for name in valued],
                cmap=cmap,
                vmin=limits[0],
                vmax=limits[1],
                edgecolors="black",
                linewidths=0.3,
                zorder=4,
            )
    return mappable


def _xy(wn: WaterNetworkModel, names: list[str]) -> tuple[list[float], list[float]]:
    """x and y coordinate lists of the named nodes."""
    points = [wn.get_node(name).coordinates for name in names]
    return [float(x) for x, _ in points], [float(y) for _, y in points]


def _save(fig: Figure, fmt: str) -> bytes:
    """Serialise the figure as PNG or SVG bytes."""
    if fmt not in FORMATS:
        raise AnalysisInputError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, bbox_inches="tight")
    return buffer.getvalue()


def _use_cjk_fonts() -> None:
    """Put any installed CJK font first so Chinese titles render (none installed: boxes + a warning)."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    found = [name for name in _CJK_FONTS if name in installed]
    if found:
        matplotlib.rcParams["font.sans-serif"] = [*found, *matplotlib.rcParams["font.sans-serif"]]


_use_cjk_fonts()
