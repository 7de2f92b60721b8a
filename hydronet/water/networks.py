"""Stored water networks: upload, import, list, delete — and the per-process caches of their models.

A network's .inp text lives in the database, so any app server can serve any tenant. Parsing
with WNTR is not free, so each process keeps a small LRU of parsed models and of simulation
results, keyed by the .inp content hash (see ``model_of`` / ``simulations``); analysis results
that two servers must agree on go through the shared store (analysis_jobs.py).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import PurePath
from typing import Any, Generic, TypeVar

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import defer
from wntr.network import WaterNetworkModel

from hydronet.auth.actor import Actor
from hydronet.kernel import audit, cpu
from hydronet.kernel.db import db
from hydronet.kernel.errors import NotFound, PayloadTooLarge, QuotaExceeded, ValidationError
from hydronet.kernel.lookup import get_or_404
from hydronet.models import AnalysisJob, Network, Tenant
from hydronet.tenants.plans import UNLIMITED, effective_quotas
from hydronet.tenants.quotas import check_count
from hydronet.tenants.usage import storage_bytes
from hydronet.water.errors import AnalysisInputError, InpError
from hydronet.water.loader import bundled_network_names, content_hash, decode_inp, load_bundled, parse_inp
from hydronet.water.simulation import Simulation
from hydronet.water.summary import summary

MAX_INP_BYTES = 20 * 1024 * 1024
PARSE_TIMEOUT_S = 120.0  # a 20 MB file parses in well under this; a stuck parse must not hold the request forever
NAME_MAX = 200
FILENAME_MAX = 255
# In-process cache budgets (per worker process). Weights: .inp characters for models (a parsed
# model takes roughly 10-30x its text), array bytes for simulations.
MODEL_CACHE_CHARS = 40 * 1024 * 1024
SIMULATION_CACHE_BYTES = 256 * 1024 * 1024

T = TypeVar("T")


class WeightedLRU(Generic[T]):
    """A thread-safe LRU bounded by the total weight of its values (the newest value always stays)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[str, tuple[T, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        """The value under ``key`` (marked most recently used), or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: str, value: T, weight: int) -> None:
        """Store ``value`` and evict least recently used values beyond the budget."""
        with self._lock:
            self._items[key] = (value, max(int(weight), 1))
            self._items.move_to_end(key)
            total = sum(w for _, w in self._items.values())
            while total > self.budget and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                total -= dropped

    def keys_with_prefix(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix``."""
        with self._lock:
            return [key for key in self._items if key.startswith(prefix)]

    def discard(self, key: str) -> None:
        """Forget ``key`` if present."""
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


MODELS: WeightedLRU[WaterNetworkModel] = WeightedLRU(MODEL_CACHE_CHARS)
SIMULATIONS: WeightedLRU[Simulation] = WeightedLRU(SIMULATION_CACHE_BYTES)


class NetworkSimulations(MutableMapping[str, Simulation]):
    """One network's view of the process-wide simulation LRU (the cache ``run_analysis`` expects)."""

    def __init__(self, digest: str) -> None:
        self.prefix = f"{digest}|"

    def __getitem__(self, key: str) -> Simulation:
        found = SIMULATIONS.get(self.prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: str, sim: Simulation) -> None:
        weight = sum(frame.to_numpy().nbytes for frame in (*sim.node.values(), *sim.link.values()))
        SIMULATIONS.put(self.prefix + key, sim, int(weight))

    def __delitem__(self, key: str) -> None:
        SIMULATIONS.discard(self.prefix + key)

    def __iter__(self) -> Iterator[str]:
        return iter([key[len(self.prefix) :] for key in SIMULATIONS.keys_with_prefix(self.prefix)])

    def __len__(self) -> int:
        return len(SIMULATIONS.keys_with_prefix(self.prefix))


def simulations(network: Network) -> NetworkSimulations:
    """The cache of simulations of this network's content (shared by networks with the same .inp)."""
    return NetworkSimulations(network.content_hash)


def model_of(network: Network) -> WaterNetworkModel:
    """The parsed WNTR model of a stored network, from the process cache when possible.

    The model is shared: callers must not mutate it (the water analyses work on deep copies).
    """
    return model_from(network.content_hash, lambda: network.inp_text)


def model_from(digest: str, text: Callable[[], str]) -> WaterNetworkModel:
    """The parsed model of the .inp whose content hash is ``digest`` (``text()`` read only on a cache miss)."""
    wn = MODELS.get(digest)
    if wn is None:
        inp = text()
        wn = parse_inp(inp, name=digest[:12])
        MODELS.put(digest, wn, len(inp))
    return wn


def parse_summary(text: str, name: str) -> dict[str, Any]:
    """Parse and validate .inp text and describe it (InpError when invalid); the model stays in this process.

    Run through :func:`hydronet.kernel.cpu.run`: in a gevent web worker this happens in the CPU
    pool, whose process then has the model cached for the network's first analysis.
    """
    wn = parse_inp(text, name=name)
    digest = content_hash(text)
    if MODELS.get(digest) is None:
        MODELS.put(digest, wn, len(text))
    return summary(wn)


# -- reading ------------------------------------------------------------------------------------


def list_networks(tenant_id: uuid.UUID, limit: int = 200) -> list[Network]:
    """The tenant's networks, newest first, without their .inp text."""
    stmt = (
        select(Network)
        .options(defer(Network.inp_text))
        .where(Network.tenant_id == tenant_id)
        .order_by(Network.created_at.desc(), Network.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(stmt).scalars())


def get_network(tenant_id: uuid.UUID, network_id: str | uuid.UUID) -> Network:
    """One of the tenant's networks; NotFound for unknown ids and other tenants' networks."""
    return get_or_404(Network, network_id, "Network", tenant_id=tenant_id)


def example_names() -> list[str]:
    """The bundled example networks that can be imported by name."""
    return bundled_network_names()


# -- writing ------------------------------------------------------------------------------------


def upload(actor: Actor, filename: str, data: bytes, name: str | None = None) -> Network:
    """Parse an uploaded .inp with WNTR and store it; 422 naming line/section when it is invalid."""
    tenant = _tenant(actor)
    if len(data) > MAX_INP_BYTES:
        raise PayloadTooLarge(f"Network files are limited to {MAX_INP_BYTES // 1048576} MB")
    clean = _filename(filename)
    text = decode_inp(data)
    return _store(actor, tenant, text, len(data), name or PurePath(clean).stem, clean, "upload", "network.upload")


def import_example(actor: Actor, example: str, name: str | None = None) -> Network:
    """Store one of WNTR's bundled example networks (Net1, Net3, ky10, ...) under the tenant."""
    tenant = _tenant(actor)
    try:
        text = load_bundled(example)
    except AnalysisInputError as exc:
        raise ValidationError({"example": exc.message}, choices=example_names()) from None
    canonical = next(n for n in example_names() if n.casefold() == example.removesuffix(".inp").casefold())
    size = len(text.encode("utf-8"))
    return _store(actor, tenant, text, size, name or canonical, f"{canonical}.inp", "example", "network.import")


def delete(actor: Actor, network: Network) -> None:
    """Delete a network and its analysis jobs, audited in the same transaction."""
    details = {"name": network.name, "size_bytes": network.size_bytes}
    db.session.execute(
        sql_delete(AnalysisJob).where(AnalysisJob.network_id == network.id, AnalysisJob.tenant_id == network.tenant_id)
    )
    db.session.delete(network)
    audit.record(actor, "network.delete", target_type="network", target_id=network.id, details=details)
    db.session.commit()


def _store(
    actor: Actor, tenant: Tenant, text: str, size: int, name: str, filename: str, source: str, action: str
) -> Network:
    """Parse (off the event loop, before anything is locked or stored), check quotas, insert and audit one network.

    The count quota's lock is taken only after the parse, so a tenant's other creations never
    wait for one of its uploads to be parsed.
    """
    try:
        parsed = cpu.run(parse_summary, text, name, timeout_s=PARSE_TIMEOUT_S)
    except InpError as exc:
        raise ValidationError({"file": exc.message}, line=exc.line, section=exc.section) from None
    except cpu.WorkTimedOut:
        raise ValidationError({"file": f"the file could not be parsed within {PARSE_TIMEOUT_S:g} s"}) from None
    _check_quotas(tenant, size)
    digest = content_hash(text)
    overview = {**parsed, "name": name[:NAME_MAX]}
    network = Network(
        tenant_id=tenant.id,
        name=name[:NAME_MAX],
        filename=filename,
        source=source,
        inp_text=text,
        content_hash=digest,
        size_bytes=size,
        summary=overview,
        created_by=actor.user.id if actor.user else None,
    )
    db.session.add(network)
    db.session.flush()
    audit.record(
        actor,
        action,
        target_type="network",
        target_id=network.id,
        details={"name": network.name, "size_bytes": size, "source": source},
    )
    db.session.commit()
    return network


def _check_quotas(tenant: Tenant, adding_bytes: int) -> None:
    """429 when the network count or the storage quota would be exceeded."""
    check_count(
        tenant,
        "networks",
        lambda: db.session.execute(select(func.count(Network.id)).where(Network.tenant_id == tenant.id)).scalar_one(),
    )
    limit_mb = int(effective_quotas(tenant).get("storage_mb", UNLIMITED))
    used = storage_bytes(tenant.id)
    if limit_mb != UNLIMITED and used + adding_bytes > limit_mb * 1048576:
        raise QuotaExceeded("storage_mb", limit_mb, math.ceil(used / 1048576), None)


def _tenant(actor: Actor) -> Tenant:
    """The actor's tenant (networks always belong to one)."""
    if actor.tenant is None:
        raise NotFound("No organisation to store the network in")
    return actor.tenant


def _filename(raw: str | None) -> str:
    """A safe display file name: the base name only, control characters removed, length-capped."""
    base = PurePath((raw or "").replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return (cleaned or "network.inp")[:FILENAME_MAX]
