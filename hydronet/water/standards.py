"""Default design values from the Chinese standards the users design to, each with its source.

Every analysis takes its defaults from here and lists the ones it used, with their source, under
``settings["defaults"]``. A tenant can change the inputs (storeys, fire flow, …) through
:func:`defaults_from`; the values below are the national defaults.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping

from hydronet.water.errors import AnalysisInputError

GB50013 = "GB 50013-2018 室外给水设计标准"
GB55036 = "GB 55036-2022 消防设施通用规范 §3.0.3"
GB50974 = "GB 50974-2014 消防给水及消火栓系统技术规范 §7.2.8"


def service_head_m(storeys: int) -> float:
    """Minimum service head at the connection for direct supply: 10 m (1 storey), 12 m (2), +4 m per further storey."""
    if storeys < 1:
        raise AnalysisInputError("storeys must be at least 1")
    return 10.0 if storeys == 1 else 12.0 + 4.0 * (storeys - 2)


@dataclass(frozen=True)
class Standards:
    """The inputs a tenant may set; everything else derives from them."""

    storeys: int = 6
    fire_flow_l_s: float = 15.0
    fire_residual_pressure_m: float = 10.0
    fire_duration_h: float = 2.0
    hydrant_normal_pressure_m: float = 14.0
    max_day_factor: float = 1.0
    leak_area_m2: float = 1e-4
    leak_discharge_coeff: float = 0.6
    break_area_m2: float = 0.005

    @property
    def service_head_m(self) -> float:
        """Minimum service head for ``storeys`` (GB 50013-2018)."""
        return service_head_m(self.storeys)

    def sources(self) -> dict[str, dict[str, Any]]:
        """Each default value with where it comes from."""
        head = self.service_head_m
        rule = "10 m for one storey, 12 m for two, +4 m per further storey"
        return {
            "required_pressure_m": {
                "value": head,
                "source": f"{GB50013}: minimum service head at the connection, {rule}; {self.storeys} storeys → {head:g} m"},
            "pressure_threshold_m": {
                "value": head, "source": f"{GB50013}: service head for {self.storeys} storeys ({rule})"},
            "fire_demand_m3_s": {
                "value": self.fire_flow_l_s / 1000.0,
                "source": f"{GB55036}; {GB50974}: at least 15 L/s from the least favourable municipal hydrant"},
            "fire_residual_pressure_m": {
                "value": self.fire_residual_pressure_m,
                "source": f"{GB55036}; {GB50974}: at least 0.10 MPa (10 m) from ground at the hydrant during a fire"},
            "fire_duration_h": {
                "value": self.fire_duration_h, "source": "2 h fire duration unless the tenant sets another"},
            "fire_start_h": {
                "value": None, "source": f"{GB50013}: fire flow is checked at the peak hour of the maximum day "
                                         "(the step of highest expected demand)"},
            "hydrant_normal_pressure_m": {
                "value": self.hydrant_normal_pressure_m,
                "source": f"{GB55036}: normal working pressure at least 0.14 MPa where municipal hydrants are fitted"},
            "demand_multiplier": {
                "value": self.max_day_factor,
                "source": "maximum-day factor applied to the model's demands (1 = the model already is the maximum "
                          "day); a tenant setting"},
            "area_m2": {
                "value": self.leak_area_m2,
                "source": "a 1 cm² opening (≈11 mm hole), Cd 0.6: about 1.5 L/s at 30 m — a leak an engineer would "
                          "find by survey; use kind=main_break for a burst main"},
            "discharge_coeff": {"value": self.leak_discharge_coeff, "source": "sharp-edged orifice"},
            "break_area_m2": {
                "value": self.break_area_m2,
                "source": "main break: a 50 cm² opening (about 100 L/s at 30 m)"},
        }

    def used(self, names: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The sources of the parameters in ``names`` whose value is this standard's default."""
        known = self.sources()
        out = {}
        for name, value in names.items():
            entry = known.get(name)
            if entry is not None and (entry["value"] is None and value is None
                                      or entry["value"] is not None and value is not None
                                      and abs(float(value) - float(entry["value"])) < 1e-9):
                out[name] = entry
        return out

    def as_dict(self) -> dict[str, Any]:
        """The tenant-settable inputs."""
        return {**asdict(self), "service_head_m": self.service_head_m}


NATIONAL = Standards()

_LIMITS = {
    "storeys": (1, 60), "fire_flow_l_s": (1, 500), "fire_residual_pressure_m": (0, 100), "fire_duration_h": (0.25, 24),
    "hydrant_normal_pressure_m": (0, 100), "max_day_factor": (0.5, 3), "leak_area_m2": (1e-6, 1.0),
    "leak_discharge_coeff": (0.1, 1.0), "break_area_m2": (1e-6, 1.0),
}


def defaults_from(tenant_settings: Mapping[str, Any] | None) -> Standards:
    """The national defaults overridden by a tenant's settings (validated; unknown keys are refused)."""
    values = dict(tenant_settings or {})
    unknown = sorted(set(values) - set(_LIMITS))
    if unknown:
        raise AnalysisInputError(f"unknown standard settings: {', '.join(unknown)}; known: {', '.join(_LIMITS)}")
    clean: dict[str, Any] = {}
    for key, value in values.items():
        low, high = _LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise AnalysisInputError(f"{key} must be a number between {low:g} and {high:g}, got {value!r}")
        if key == "storeys":
            if int(value) != value:
                raise AnalysisInputError(f"storeys must be a whole number, got {value!r}")
            value = int(value)
        clean[key] = value
    return replace(NATIONAL, **clean)
