"""Domain errors raised by the water analysis layer (the web layer maps them to HTTP)."""

from __future__ import annotations

from typing import Any


class WaterError(Exception):
    """Base class of every error raised by :mod:`hydronet.water`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the error."""
        return {"message": self.message}


class InpError(WaterError):
    """The EPANET .inp text could not be parsed; names the line and section when known."""

    def __init__(self, message: str, line: int | None = None, section: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.section = section

    def to_dict(self) -> dict[str, Any]:
        """Message plus the 1-based line number and the ``[SECTION]`` name."""
        return {"message": self.message, "line": self.line, "section": self.section}


class AnalysisInputError(WaterError):
    """An analysis parameter is invalid (unknown element, out-of-range value, ...)."""


class SimulationError(WaterError):
    """The hydraulic/quality solver failed on this network or scenario."""


class AnalysisTimeout(WaterError):
    """An analysis exceeded its wall-clock limit."""

    def __init__(self, message: str, seconds: float | None = None) -> None:
        super().__init__(message)
        self.seconds = seconds
