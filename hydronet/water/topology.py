"""Graph structure of the network: dead ends, bridges, articulation points, centrality."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx
import wntr
from wntr.network import WaterNetworkModel

from hydronet.water.jsonify import num


def topology(wn: WaterNetworkModel) -> dict[str, Any]:
    """Structural weak points of the undirected network graph (every link counts as an edge)."""
    multigraph = wn.to_graph().to_undirected()
    graph = nx.Graph(multigraph)
    links_between = _links_between(wn)
    dead_ends = sorted(node for node, degree in multigraph.degree() if degree == 1)
    bridges = sorted(
        links_between[frozenset(pair)][0] for pair in nx.bridges(graph) if len(links_between[frozenset(pair)]) == 1
    )
    articulation = sorted(nx.articulation_points(graph))
    nodes, links = wn.num_nodes, wn.num_links
    components = nx.number_connected_components(graph)
    return {
        "node_count": nodes,
        "link_count": links,
        "connected_components": components,
        "independent_loops": links - nodes + components,
        "average_degree": num(2 * links / nodes) if nodes else None,
        "meshedness": num((links - nodes + 1) / (2 * nodes - 5)) if nodes > 2 else None,
        "central_point_dominance": num(wntr.metrics.central_point_dominance(multigraph)) if nodes > 2 else None,
        "dead_ends": [{"node": name, "type": wn.get_node(name).node_type} for name in dead_ends],
        "bridges": [{"link": name, "type": wn.get_link(name).link_type} for name in bridges],
        "articulation_points": [{"node": name, "type": wn.get_node(name).node_type} for name in articulation],
    }


def _links_between(wn: WaterNetworkModel) -> defaultdict[frozenset[str], list[str]]:
    """Link names grouped by their (unordered) end-node pair, so parallel links are not bridges."""
    grouped: defaultdict[frozenset[str], list[str]] = defaultdict(list)
    for name, link in wn.links():
        grouped[frozenset((link.start_node_name, link.end_node_name))].append(name)
    return grouped
