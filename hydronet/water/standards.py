"""Default design values from the Chinese standards the users design to, each with its source.

Every analysis takes its defaults from here and lists the ones it used, with their source, under
``settings["defaults"]``. A tenant can change the inputs (storeys, fire flow, …) through
:func:`defaults_from`; the values below are the national defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

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
    # thresholds of the findings (no national limit: common practice, changeable by the tenant)
    max_velocity_m_s: float = 2.0
    max_pressure_m: float = 80.0
    max_water_age_h: float = 72.0

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
                "source": f"{GB50013}: minimum service head at the connection, {rule}; "
                f"{self.storeys} storeys → {head:g} m",
            },
            "pressure_threshold_m": {
                "value": head,
                "source": f"{GB50013}: service head for {self.storeys} storeys ({rule}); "
                f"{self.storeys} storeys → {head:g} m",
            },
            "fire_demand_m3_s": {
                "value": self.fire_flow_l_s / 1000.0,
                "source": f"{GB55036}; {GB50974}: at least 15 L/s from the least favourable municipal hydrant",
            },
            "fire_residual_pressure_m": {
                "value": self.fire_residual_pressure_m,
                "source": f"{GB55036}; {GB50974}: at least 0.10 MPa (10 m) from ground at the hydrant during a fire",
            },
            "fire_duration_h": {
                "value": self.fire_duration_h,
                "source": "2 h fire duration unless the tenant sets another",
            },
            "fire_start_h": {
                "value": None,
                "source": f"{GB50013}: fire flow is checked at the peak hour of the maximum day "
                "(the step of highest expected demand)",
            },
            "hydrant_normal_pressure_m": {
                "value": self.hydrant_normal_pressure_m,
                "source": f"{GB55036}: normal working pressure at least 0.14 MPa where municipal hydrants are fitted",
            },
            "demand_multiplier": {
                "value": self.max_day_factor,
                "source": "maximum-day factor applied to the model's demands (1 = the model already is the maximum "
                "day); a tenant setting",
            },
            "area_m2": {
                "value": self.leak_area_m2,
                "source": "a 1 cm² opening (≈11 mm hole), Cd 0.6: about 1.5 L/s at 30 m — a leak an engineer would "
                "find by survey; use kind=main_break for a burst main",
            },
            "discharge_coeff": {"value": self.leak_discharge_coeff, "source": "sharp-edged orifice"},
            "break_area_m2": {
                "value": self.break_area_m2,
                "source": "main break: a 50 cm² opening (about 70 L/s at 30 m with Cd 0.6)",
            },
            "max_velocity_m_s": {
                "value": self.max_velocity_m_s,
                "source": "findings: velocity above which a pipe is flagged (head loss, scour and surge); no national "
                "maximum, 2 m/s is common design practice — critical at 1.5× this value",
            },
            "max_pressure_m": {
                "value": self.max_pressure_m,
                "source": "findings: pressure above which a junction is flagged (leakage and bursts grow with pressure); "
                "no national maximum for the network, a common trigger for zoning or pressure reduction",
            },
            "max_water_age_h": {
                "value": self.max_water_age_h,
                "source": "findings: mean water age above which a junction is flagged (chlorine decay, complaints); "
                "no national limit, 72 h is common practice",
            },
        }

    def used(self, names: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The sources of the parameters in ``names`` whose value is this standard's default."""
        known = self.sources()
        out = {}
        for name, value in names.items():
            entry = known.get(name)
            if entry is not None and (
                entry["value"] is None
                and value is None
                or entry["value"] is not None
                and value is not None
                and abs(float(value) - float(entry["value"])) < 1e-9
            ):
                out[name] = entry
        return out

    def as_dict(self) -> dict[str, Any]:
        """The tenant-settable inputs."""
        return {**asdict(self), "service_head_m": self.service_head_m}


NATIONAL = Standards()


@dataclass(frozen=True)
class Field:
    """One tenant-settable input: its limits, unit and labels (the settings form and the API use them)."""

    name: str
    low: float
    high: float
    unit: str
    zh: str
    en: str
    integer: bool = False
    low_open: bool = False  # the lower limit itself is not allowed (fire flow must be > 0)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be stored, or None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return "must be a number"
        if self.integer and int(value) != value:
            return "must be a whole number"
        if (value <= self.low if self.low_open else value < self.low) or value > self.high:
            low = f"greater than {self.low:g}" if self.low_open else f"at least {self.low:g}"
            return f"must be {low} and at most {self.high:g}"
        return None


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("storeys", 1, 40, "", "直接供水建筑层数", "Storeys supplied directly", integer=True),
        Field("fire_flow_l_s", 0, 500, "L/s", "消防流量", "Fire flow", low_open=True),
        Field("fire_residual_pressure_m", 0, 100, "m", "火灾时消火栓最低余压", "Hydrant residual pressure in a fire"),
        Field("fire_duration_h", 0.25, 24, "h", "火灾延续时间", "Fire duration"),
        Field("hydrant_normal_pressure_m", 0, 100, "m", "消火栓平时最低压力", "Hydrant normal working pressure"),
        Field(
            "max_day_factor", 0.5, 3, "", "最高日系数（乘以模型需水量）", "Maximum-day factor on the model's demands"
        ),
        Field("leak_area_m2", 1e-6, 1.0, "m²", "漏点默认孔口面积", "Default leak opening"),
        Field("leak_discharge_coeff", 0.1, 1.0, "", "漏点流量系数", "Leak discharge coefficient"),
        Field("break_area_m2", 1e-6, 1.0, "m²", "爆管默认孔口面积", "Default main-break opening"),
        Field("max_velocity_m_s", 0.5, 10, "m/s", "流速提示上限", "Velocity flagged above"),
        Field("max_pressure_m", 20, 200, "m", "压力提示上限", "Pressure flagged above"),
        Field("max_water_age_h", 6, 720, "h", "水龄提示上限", "Water age flagged above"),
    )
}
# which tenant input each analysis parameter's default derives from (the source texts of Standards.sources)
PARAMETER_INPUTS = {
    "required_pressure_m": "storeys",
    "pressure_threshold_m": "storeys",
    "fire_demand_m3_s": "fire_flow_l_s",
    "fire_residual_pressure_m": "fire_residual_pressure_m",
    "fire_duration_h": "fire_duration_h",
    "hydrant_normal_pressure_m": "hydrant_normal_pressure_m",
    "demand_multiplier": "max_day_factor",
    "area_m2": "leak_area_m2",
    "discharge_coeff": "leak_discharge_coeff",
    "break_area_m2": "break_area_m2",
}
# tenant inputs that are thresholds of the findings rather than defaults of a parameter (their own source text)
THRESHOLDS = ("max_velocity_m_s", "max_pressure_m", "max_water_age_h")


def problems(tenant_settings: Mapping[str, Any]) -> dict[str, str]:
    """Per-field reasons why ``tenant_settings`` cannot be stored (empty when they can)."""
    out = {}
    for key, value in tenant_settings.items():
        field = FIELDS.get(key)
        reason = f"unknown setting; known: {', '.join(FIELDS)}" if field is None else field.problem(value)
        if reason:
            out[key] = reason
    return out


def defaults_from(tenant_settings: Mapping[str, Any] | None) -> Standards:
    """The national defaults overridden by a tenant's settings (validated; unknown keys are refused)."""
    values = dict(tenant_settings or {})
    wrong = problems(values)
    if wrong:
        raise AnalysisInputError("; ".join(f"{key}: {reason}" for key, reason in wrong.items()))
    clean = {key: int(value) if FIELDS[key].integer else float(value) for key, value in values.items()}
    return replace(NATIONAL, **clean)


def describe(standards: Standards) -> list[dict[str, Any]]:
    """Each tenant-settable input with its value, the national default, limits, labels and the standard behind it.

    What the settings form shows: ``changed`` is true where the tenant's value differs from the national one.
    """
    sources = NATIONAL.sources()
    by_input: dict[str, str] = {}
    for parameter, field in PARAMETER_INPUTS.items():
        by_input.setdefault(field, sources[parameter]["source"])
    for name in THRESHOLDS:
        by_input[name] = sources[name]["source"]
    rows = []
    for name, field in FIELDS.items():
        value, national = getattr(standards, name), getattr(NATIONAL, name)
        rows.append(
            {
                "name": name,
                "value": value,
                "national": national,
                "changed": value != national,
                "unit": field.unit,
                "label": {"zh": field.zh, "en": field.en},
                "minimum": field.low,
                "minimum_exclusive": field.low_open,
                "maximum": field.high,
                "integer": field.integer,
                "source": by_input.get(name, ""),
            }
        )
    return rows
