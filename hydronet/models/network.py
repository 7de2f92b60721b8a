"""Water networks (EPANET models) and analysis jobs."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hydronet.kernel.db import Base, IdMixin, TenantOwnedMixin, utcnow


class Network(IdMixin, TenantOwnedMixin, Base):
    """An EPANET .inp stored in the database so any app server can serve it."""

    __tablename__ = "networks"

    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(20), default="upload")
    inp_text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict] = mapped_column(default=dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))


class AnalysisJob(IdMixin, TenantOwnedMixin, Base):
    """A long analysis run in the background, with progress and result."""

    __tablename__ = "analysis_jobs"

    network_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    result: Mapped[dict | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column()
    # stamped by the process running the job; a running job whose stamp is stale lost its worker
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # a chunk of a sweep split over workers: params hold its scenarios, the parent aggregates
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("analysis_jobs.id", ondelete="CASCADE"), index=True
    )


class AnalysisDefaults(IdMixin, TenantOwnedMixin, Base):
    """A tenant's own analysis defaults (storeys, fire flow, …): the inputs it changed from the national standards."""

    __tablename__ = "analysis_defaults"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    values: Mapped[dict] = mapped_column(default=dict)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
