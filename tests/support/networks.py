"""Networks through the API: WNTR's bundled models, import, upload, and waiting for an analysis job."""

from __future__ import annotations

import io
import time
from pathlib import Path

import wntr

LIBRARY = Path(wntr.__file__).resolve().parent / "library" / "networks"


def library_text(name: str) -> str:
    """The .inp text of a bundled network, straight from the WNTR package."""
    return (LIBRARY / f"{name}.inp").read_text(encoding="utf-8")


def import_example(client, headers, example: str = "Net1", **extra) -> dict:
    """Import a bundled network through the API; returns the network JSON."""
    resp = client.post("/api/networks/import", headers=headers, json={"example": example, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["network"]


def upload(client, headers, content: bytes | str, filename: str = "mine.inp", **form):
    """POST a multipart upload."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        "/api/networks",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(data), filename), **form},
    )


def wait_for_job(client, headers, job_id: str, timeout_s: float = 90) -> dict:
    """Poll a job until it is done or failed; returns its JSON (progress checked to stay within 0..1)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"]
        if job["status"] in ("done", "failed"):
            return job
        assert 0.0 <= job["progress"] <= 1.0
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")
