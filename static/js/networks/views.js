// Result views per analysis kind: key figure tiles, findings by severity, charts that mean something
// for that analysis, a map overlay with its legend, and the element tables (worst first, searchable,
// paginated, with units).  The figures, findings and tables come from the server (water/findings.py,
// water/tables.py) in both languages; this module lays them out and draws the charts and the map.

import { api, download } from "../core/api.js";
import { drawChart } from "../core/charts.js";
import { dataTable, formatCell } from "../core/datatable.js";
import { errorText, h, mount } from "../core/dom.js";
import { getLang, has, t } from "../core/i18n.js";
import { NetworkMap } from "./map.js";

const WORST_SERIES = 5;
const BAR_LIMIT = 15;
const RED = "#c62828";
const GREEN = "#2e7d32";
const ORANGE = "#e07b00";
const PURPLE = "#8e24aa";
const BLUE = "#1565c0";
const geometry = new Map();

const L = (pair) => (pair ? pair[getLang()] || pair.en || "" : "");

/** The network's drawing (nodes and links, no values), fetched once per network. */
function networkGeometry(networkId) {
  if (!geometry.has(networkId)) {
    geometry.set(networkId, api(`/api/networks/${networkId}/map.json`, { query: { value: "none" } })
      .then((data) => data.map || data)
      .catch((err) => { geometry.delete(networkId); throw err; }));
  }
  return geometry.get(networkId);
}

function kpiTiles(kpis) {
  return h("div", { class: "kpis", "data-testid": "kpis" }, kpis.map((k) => h("div", { class: ["kpi", k.severity ? `kpi-${k.severity}` : null] },
    h("span", { class: "kpi-label", text: L(k.label) }),
    h("b", { class: "kpi-value", text: `${formatCell(k.value, "number")}${k.unit && k.value !== null && k.value !== undefined ? ` ${k.unit}` : ""}` }),
    k.detail ? h("span", { class: "kpi-detail", text: L(k.detail) }) : null)));
}

function findingsList(findings) {
  if (!findings.length) return h("p", { class: "muted", i18n: "view.no_findings" });
  return h("ol", { class: "findings", "data-testid": "findings" }, findings.map((f) => h("li", { class: `finding finding-${f.severity}` },
    h("span", { class: `badge badge-${f.severity}`, i18n: `severity.${f.severity}` }),
    h("span", { class: "finding-text", text: L(f.message) }))));
}

function chartCard(titleKey, draw, tall = false) {
  const canvas = h("canvas", { role: "img", "aria-label": t(titleKey) });
  const box = h("div", { class: ["chart-box", tall ? "tall" : null] }, canvas);
  const section = h("section", { class: "result-chart", "data-testid": "result-chart" }, h("h4", { i18n: titleKey }), box);
  queueMicrotask(() => Promise.resolve(draw(canvas)).catch((err) => mount(box, h("p", { class: "muted", text: errorText(err) }))));
  return section;
}

const seriesQuery = (settings, element) => ({
  element, variable: "pressure",
  duration_h: settings && settings.duration_h !== undefined ? settings.duration_h : undefined,
  demand_model: settings && settings.demand_model ? settings.demand_model : undefined,
});

/** Several elements' pressure over time on one chart (tank pressure = its water level). */
async function pressureSeries(canvas, networkId, names, settings, yTitle) {
  const all = await Promise.all(names.map((name) => api(`/api/networks/${networkId}/timeseries`, { query: seriesQuery(settings, name) })
    .then((d) => d.timeseries)));
  if (!all.length) return;
  await drawChart(canvas, {
    kind: "line",
    labels: all[0].points.map((p) => p.time_h),
    series: all.map((s) => ({ label: s.element, data: s.points.map((p) => p.value) })),
    xTitle: t("result.time_h"), yTitle,
  });
}

function barChart(canvas, rows, labelKey, valueKey, seriesLabel, yTitle, color) {
  const top = rows.slice(0, BAR_LIMIT);
  return drawChart(canvas, {
    kind: "bar", labels: top.map((r) => r[labelKey]),
    series: [{ label: seriesLabel, data: top.map((r) => r[valueKey]), color }], yTitle,
  });
}

// -- per kind: charts and map overlay ------------------------------------------------------------

function chartsFor(kind, result, networkId, tables) {
  const settings = result.settings || {};
  if (kind === "hydraulic") {
    const worst = Object.entries(result.node_min_pressure_m || {}).filter(([, v]) => typeof v === "number")
      .sort((a, b) => a[1] - b[1]).slice(0, WORST_SERIES).map(([name]) => name);
    const tanks = (result.tanks || []).map((tank) => tank.tank);
    return [
      worst.length ? chartCard("view.chart_worst_pressure", (c) => pressureSeries(c, networkId, worst, settings, t("view.pressure_m")), true) : null,
      tanks.length ? chartCard("view.chart_tank_levels", (c) => pressureSeries(c, networkId, tanks, settings, t("view.level_m"))) : null,
    ];
  }
  if (kind === "what_if") {
    const rows = ((tables || []).find((x) => x.key === "comparison") || { rows: [] }).rows.filter((r) => r.unit === "m");
    return [chartCard("view.chart_what_if", (c) => drawChart(c, {
      kind: "bar", labels: rows.map((r) => r.indicator.split(" / ")[getLang() === "zh" ? 0 : 1]),
      series: [{ label: t("view.baseline"), data: rows.map((r) => r.baseline) }, { label: t("view.scenario"), data: rows.map((r) => r.scenario) }],
      yTitle: t("view.pressure_m"),
    }))];
  }
  if (kind === "pipe_criticality") {
    const rows = [...(result.ranking || [])].sort((a, b) => (b.junctions_impacted || 0) - (a.junctions_impacted || 0));
    return [chartCard("view.chart_criticality", (c) => barChart(c, rows, "pipe", "junctions_impacted", t("view.junctions_impacted"), t("view.junctions"), RED))];
  }
  if (kind === "fire_flow") {
    const rows = [...(result.ranking || [])].sort((a, b) => (a.hydrant_min_pressure_m ?? 0) - (b.hydrant_min_pressure_m ?? 0)).slice(0, BAR_LIMIT * 2);
    const threshold = settings.pressure_threshold_m;
    return [chartCard("view.chart_fire_flow", (c) => drawChart(c, {
      kind: "bar", labels: rows.map((r) => r.hydrant),
      series: [
        { label: t("view.pass"), data: rows.map((r) => (r.passes ? r.hydrant_min_pressure_m : null)), color: GREEN, grouped: false },
        { label: t("view.fail"), data: rows.map((r) => (r.passes ? null : r.hydrant_min_pressure_m)), color: RED, grouped: false },
        ...(typeof threshold === "number" ? [{ label: t("view.required_residual"), data: rows.map(() => threshold), type: "line", color: "#5f6f80" }] : []),
      ],
      yTitle: t("view.residual_m"),
    }), true)];
  }
  if (kind === "leak_scenario") {
    const points = result.leak_flow_series || [];
    return [chartCard("view.chart_leak", (c) => drawChart(c, {
      kind: "line", labels: points.map((p) => p.time_h),
      series: [{ label: t("view.leak_flow"), data: points.map((p) => (typeof p.flow_m3_s === "number" ? p.flow_m3_s * 1000 : null)) }],
      xTitle: t("result.time_h"), yTitle: "L/s",
    }))];
  }
  if (kind === "water_age") {
    const rows = Object.entries(result.node_mean_age_h || {}).map(([node, age]) => ({ node, age })).sort((a, b) => b.age - a.age);
    return [chartCard("view.chart_age", (c) => barChart(c, rows, "node", "age", t("view.mean_age"), "h"))];
  }
  if (kind === "resilience") {
    const pumps = ((result.pump_energy || {}).pumps || []);
    return pumps.length ? [chartCard("view.chart_energy", (c) => barChart(c, pumps, "pump", "energy_kwh", t("view.energy"), "kWh"))] : [];
  }
  return [];
}

function overlayFor(kind, result, params) {
  const nodes = (values) => ({ nodeValues: values });
  if (kind === "hydraulic") return { ...nodes(result.node_min_pressure_m), label: t("view.map_min_pressure"), unit: "m" };
  if (kind === "water_age") return { ...nodes(result.node_mean_age_h), label: t("view.mean_age"), unit: "h", highIsBad: true };
  if (kind === "leak_scenario") {
    return { ...nodes(result.node_pressure_change_m || {}), label: t("view.map_pressure_change"), unit: "m",
      marks: { nodes: { [result.junction]: "#1d2733" }, legend: [{ color: "#1d2733", label: t("view.map_leak_at", { node: result.junction || "" }) }] } };
  }
  if (kind === "pipe_criticality") return { linkValues: result.link_junctions_impacted || {}, label: t("view.junctions_impacted"), unit: "" };
  if (kind === "fire_flow") {
    const colours = Object.fromEntries((result.ranking || []).map((r) => [r.hydrant, r.passes ? GREEN : RED]));
    return { categories: { nodes: colours, legend: [{ color: GREEN, label: t("view.pass") }, { color: RED, label: t("view.fail") }] } };
  }
  if (kind === "what_if") {
    const closed = (params && params.close_pipes) || [];
    return { ...nodes(result.node_pressure_change_m || {}), label: t("view.map_pressure_change"), unit: "m",
      marks: { links: Object.fromEntries(closed.map((p) => [p, "#1d2733"])),
        legend: closed.length ? [{ color: "#1d2733", label: t("view.map_closed") }] : [] } };
  }
  if (kind === "topology") {
    return { categories: {
      links: Object.fromEntries((result.bridges || []).map((b) => [b.link, ORANGE])),
      nodes: Object.fromEntries([...(result.articulation_points || []).map((a) => [a.node, PURPLE]), ...(result.dead_ends || []).map((d) => [d.node, BLUE])]),
      legend: [{ color: ORANGE, label: t("view.map_bridges") }, { color: PURPLE, label: t("view.map_articulation") }, { color: BLUE, label: t("view.map_dead_ends") }],
    } };
  }
  if (kind === "resilience") {
    const values = Object.fromEntries((((result.water_service_availability || {}).worst_junctions) || []).map((j) => [j.node, j.wsa]));
    return { ...nodes(values), label: t("view.map_wsa"), unit: "" };
  }
  return null;
}

function rangeOf(values) {
  const numbers = Object.values(values || {}).filter((v) => typeof v === "number");
  return numbers.length ? [Math.min(...numbers), Math.max(...numbers)] : null;
}

function mapSection(kind, result, networkId, params) {
  const overlay = overlayFor(kind, result, params);
  if (!overlay) return null;
  const map = new NetworkMap();
  const state = h("div");
  networkGeometry(networkId).then((collection) => {
    const features = (collection.features || []).map((f) => {
      const isNode = f.geometry && f.geometry.type === "Point";
      const source = isNode ? overlay.nodeValues : overlay.linkValues;
      const value = source && typeof source[f.properties.name] === "number" ? source[f.properties.name] : null;
      return { ...f, properties: { ...f.properties, value } };
    });
    map.setData({
      ...collection, features,
      node_value_range: overlay.nodeValues ? rangeOf(overlay.nodeValues) : null,
      link_value_range: overlay.linkValues ? rangeOf(overlay.linkValues) : null,
    }, { valueLabel: overlay.label || "", unit: overlay.unit || "", highIsBad: Boolean(overlay.highIsBad), categories: overlay.categories || null,
      marks: overlay.marks || null });
  }).catch((err) => mount(state, h("p", { class: "form-error", text: errorText(err) })));
  return h("section", { class: "result-map", id: "result-map", "data-testid": "result-map" },
    h("h4", { i18n: "view.map" }), state, map.el, map.legend);
}

function settingsTable(settings) {
  if (!settings || !settings.length) return null;
  const hasSource = settings.some((s) => s.source);
  return h("section", { class: "result-settings" }, h("h4", { i18n: "view.settings" }),
    h("div", { class: "table-scroll" }, h("table", { class: "table table-compact kv", "data-testid": "settings-table" },
      h("tbody", {}, settings.map((s) => h("tr", {},
        h("th", { scope: "row", text: L(s.label) + (s.unit ? ` (${s.unit})` : "") }),
        h("td", { text: formatCell(s.value, typeof s.value === "number" ? "number" : "text") }),
        hasSource ? h("td", { class: "muted small", text: sourceText(s), title: s.basis || "", "data-origin": s.origin || "" }) : null))))));
}

/** Where a setting's value came from: the standard's clause, the tenant's setting or this run's parameters. */
function sourceText(s) {
  if (!s.source) return "—";
  if (s.origin === "tenant") return t("source.tenant");
  if (s.origin === "request") return t("source.request");
  if (s.origin === "standard") return s.source;
  return has(`source.${s.source}`) ? t(`source.${s.source}`) : s.source;
}

function toolbar({ kind, network, jobId, params }) {
  const reportHref = jobId ? `/networks/${network.id}/report?job=${encodeURIComponent(jobId)}`
    : `/networks/${network.id}/report?kind=${encodeURIComponent(kind)}&params=${encodeURIComponent(JSON.stringify(params || {}))}`;
  const exportButton = h("button", { class: "btn btn-sm", type: "button", i18n: "view.export_xlsx", "data-testid": "export-xlsx" });
  exportButton.addEventListener("click", async () => {
    exportButton.disabled = true;
    try {
      const path = jobId ? `/api/jobs/${jobId}/export.xlsx` : `/api/networks/${network.id}/analyses/${kind}/export.xlsx`;
      const q = { lang: getLang(), ...(jobId ? {} : { params: JSON.stringify(params || {}) }) };
      await download(path, q, `${network.name}-${kind}.xlsx`);
    } finally {
      exportButton.disabled = false;
    }
  });
  return h("div", { class: "result-toolbar no-print" }, exportButton,
    h("a", { class: "btn btn-sm", href: reportHref, target: "_blank", rel: "noopener", i18n: "view.report", "data-testid": "report-link" }));
}

/**
 * A result view.  data: the API answer ({result, findings, kpis, tables, settings, next_steps});
 * ctx: {kind, network, jobId?, params?, print?} (print: the report page, no toolbar, tables unpaginated).
 */
export function analysisView(data, ctx) {
  const { kind, network } = ctx;
  const result = data.result || {};
  const tables = (data.tables || []).map((spec) => dataTable(spec, ctx.print ? { pageSize: 40 } : {}));
  const charts = chartsFor(kind, result, network.id, data.tables).filter(Boolean);
  const steps = data.next_steps || [];
  return h("div", { class: `result-view result-${kind}`, "data-testid": "result-view", "data-kind": kind },
    ctx.print ? null : toolbar(ctx),
    data.kpis && data.kpis.length ? kpiTiles(data.kpis) : null,
    h("section", { class: "result-findings" }, h("h4", { i18n: "view.findings" }), findingsList(data.findings || [])),
    steps.length ? h("section", { class: "result-next" }, h("h4", { i18n: "view.next_steps" }),
      h("ul", {}, steps.map((s) => h("li", { text: L(s) })))) : null,
    mapSection(kind, result, network.id, ctx.params),
    charts.length ? h("div", { class: "result-charts" }, charts) : null,
    tables,
    ctx.print ? null : settingsTable(data.settings));
}

export { settingsTable };
