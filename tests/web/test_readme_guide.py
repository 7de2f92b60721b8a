"""The README's guide walkthrough runs as pasted: it activates .venv first and defines every variable it uses."""

from __future__ import annotations

import re
import subprocess

from tests.support.live import ROOT


def _guide() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The deployment guide, verbatim") :]
    return section[section.index("```bash") + 7 : section.index("\n```", section.index("```bash"))]


def test_guide_activates_the_venv_and_defines_what_it_uses():
    lines = [line for line in _guide().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    first_python = next(i for i, line in enumerate(lines) if re.match(r"\s*(python3|gunicorn)\b", line))
    assert "source .venv/bin/activate" in "\n".join(lines[:first_python])
    script = "\n".join(lines)
    for name in ("TOKEN", "CID", "ADMIN_TOKEN"):
        defined = script.find(f"{name}=$(")
        used = script.find(f"${name}")
        assert defined != -1 and defined < used, f"${name} is used before it is defined"
    # The token used after the password change is the one its answer carries.
    change = script.index("/api/auth/change-password")
    assert script.rfind("TOKEN=$(", 0, change) > script.find("TOKEN=$(")
    assert subprocess.run(["bash", "-n"], input=_guide(), text=True).returncode == 0  # valid shell
