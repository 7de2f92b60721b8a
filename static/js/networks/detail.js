// One network: summary, pressure map, analyses, time-series charts.

import { api } from "../core/api.js";
import { errorBlock, errorText, formatBytes, formatDateTime, formatNumber, h, loadingBlock, mount } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { drawChart } from "../core/charts.js";
import { renderResult } from "../core/results.js";
import { NetworkMap } from "./map.js";
import { analysisCard } from "./analyses.js";

const MAP_VALUES = ["min_pressure", "mean_pressure", "max_pressure", "max_velocity", "elevation", "none"];
const VARIABLES = ["pressure", "head", "demand", "quality", "flowrate", "velocity", "headloss"];
const LINK_VARIABLES = new Set(["flowrate", "velocity", "headloss"]);

function summaryCard(network) {
  const s = network.summary || {};
  const counts = s.counts || {};
  const stat = (key, value) => h("div", { class: "stat", "data-testid": `stat-${key}` }, h("b", { text: value }), h("span", { i18n: `summary.${key}` }));
  const stats = h("div", { class: "stats", "data-testid": "network-summary" },
    ["junctions", "tanks", "reservoirs", "pipes", "pumps", "valves"].map((k) => stat(k, formatNumber(counts[k]))),
    stat("length_km", formatNumber((s.total_pipe_length_m || 0) / 1000, 2)),
    stat("duration_h", formatNumber(s.time ? s.time.duration_h : null, 1)));
  const details = {
    flow_units: s.units ? s.units.source_flow_units : null,
    headloss: s.headloss_formula,
    quality: s.quality_parameter,
    base_demand_l_s: s.demand ? (s.demand.total_base_demand_m3_s || 0) * 1000 : null,
    patterns: (s.patterns || []).length,
    controls: (s.counts || {}).controls,
  };
  const table = h("table", { class: "table kv" }, h("tbody", {}, Object.entries(details).map(([k, v]) =>
    h("tr", {}, h("th", { scope: "row", i18n: `summary.${k}` }), h("td", { text: typeof v === "number" ? formatNumber(v, 2) : (v || "—") })))));
  return h("section", { class: "card" }, h("h2", { i18n: "net.summary" }), stats, table,
    (s.controls || []).length ? h("details", { class: "raw" }, h("summary", { i18n: "summary.controls_list" }),
      h("pre", { class: "json", text: s.controls.join("\n") })) : null);
}

function mapCard(network, map) {
  const select = h("select", { class: "input", "data-testid": "map-value" },
    MAP_VALUES.map((v) => h("option", { value: v, i18n: `map.${v}` })));
  const state = h("div");
  const load = async () => {
    const value = select.value;
    mount(state, loadingBlock("net.map_loading"));
    try {
      const data = await api(`/api/networks/${network.id}/map.json`, { query: { value } });
      state.replaceChildren();
      map.setData(data.map || data, { valueLabel: t(`map.${value}`), unit: data.unit || "" });
    } catch (err) {
      mount(state, errorBlock(err, load));
    }
  };
  select.addEventListener("change", load);
  load();
  return h("section", { class: "card" },
    h("div", { class: "card-head" }, h("h2", { i18n: "net.map" }),
      h("label", { class: "field field-inline" }, h("span", { class: "sr-only", i18n: "net.map_value" }), select)),
    state, map.el, map.legend, h("p", { class: "muted small", i18n: "net.map_help" }));
}

function timeseriesCard(network, map) {
  const element = h("input", { class: "input", name: "element", list: `elements-${network.id}`, required: true, autocomplete: "off", "data-testid": "ts-element" });
  const datalist = h("datalist", { id: `elements-${network.id}` });
  const variable = h("select", { class: "input", name: "variable", "data-testid": "ts-variable" },
    VARIABLES.map((v) => h("option", { value: v, i18n: `variable.${v}` })));
  const fillNames = () => {
    const names = map.names();
    mount(datalist, (LINK_VARIABLES.has(variable.value) ? names.links : names.nodes).map((n) => h("option", { value: n })));
  };
  variable.addEventListener("change", fillNames);
  const canvas = h("canvas", { role: "img", "aria-label": t("net.timeseries") });
  const chartBox = h("div", { class: "chart-box tall", hidden: true }, canvas);
  const state = h("div");
  const stats = h("div");
  const form = h("form", { class: "form-row" },
    h("label", { class: "field" }, h("span", { i18n: "net.element" }), element, datalist),
    h("label", { class: "field" }, h("span", { i18n: "net.variable" }), variable),
    h("button", { class: "btn btn-primary", type: "submit", i18n: "net.show_series", "data-testid": "ts-show" }));
  form.addEventListener("focusin", fillNames, { once: true });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!element.value.trim()) return;
    mount(state, loadingBlock("net.running"));
    try {
      const data = await api(`/api/networks/${network.id}/timeseries`, { query: { element: element.value.trim(), variable: variable.value } });
      const series = data.timeseries || data.result || data;
      state.replaceChildren();
      chartBox.hidden = false;
      await drawChart(canvas, {
        kind: "line",
        labels: series.points.map((p) => p.time_h),
        series: [{ label: `${series.element} · ${t(`variable.${series.variable}`)}${series.unit ? ` (${series.unit})` : ""}`, data: series.points.map((p) => p.value) }],
        xTitle: t("result.time_h"), yTitle: series.unit || "", stepped: series.variable === "status",
      });
      mount(stats, renderResult({ min: series.min, max: series.max, mean: series.mean, unit: series.unit }));
    } catch (err) {
      chartBox.hidden = true;
      mount(state, h("p", { class: "form-error", role: "alert", text: errorText(err) }));
    }
  });
  return h("section", { class: "card" }, h("h2", { i18n: "net.timeseries" }), form, state, chartBox, stats);
}

/** Render the network `id` into `root`; `onDelete()` after a confirmed delete. */
export async function showNetwork(root, id, { canWrite, canRun, onDelete, analysis = null }) {
  mount(root, loadingBlock());
  let network;
  try {
    network = (await api(`/api/networks/${id}`)).network;
  } catch (err) {
    mount(root, errorBlock(err, () => showNetwork(root, id, { canWrite, canRun, onDelete, analysis })));
    return;
  }
  const map = new NetworkMap();
  const head = h("section", { class: "card" },
    h("div", { class: "card-head" }, h("h2", { text: network.name, "data-testid": "network-name" }),
      canWrite ? h("button", { class: "btn btn-sm btn-danger-text", type: "button", i18n: "common.delete", on: { click: () => onDelete(network) } }) : null),
    h("p", { class: "muted small", text: [network.filename, formatBytes(network.size_bytes), formatDateTime(network.created_at)].filter(Boolean).join(" · ") }));
  mount(root, head, summaryCard(network), mapCard(network, map),
    analysisCard(network, () => map.names(), canRun, analysis ? { kind: analysis } : null), timeseriesCard(network, map));
}
