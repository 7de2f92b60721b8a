// Analysis results (tool results in chat, analyses on the networks page) as
// tables and charts, whatever their exact shape: scalars become a key/value
// table, lists of records a table, time series ({time_h, value} points) a line
// chart, nested objects a titled section.  Everything goes in as text.

import { has, t } from "./i18n.js";
import { h } from "./dom.js";
import { drawChart } from "./charts.js";

const MAX_ROWS = 50;
const MAX_DEPTH = 3;

/** A readable label for a result key (i18n result.<key>, else the key spelt out). */
export function label(key) {
  const k = `result.${key}`;
  return has(k) ? t(k) : String(key).replace(/_/g, " ");
}

export function formatValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? t("common.yes") : t("common.no");
  if (typeof value === "number") {
    if (Number.isInteger(value)) return value.toLocaleString();
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 0.001 || abs >= 1e7) ? value.toExponential(3) : String(Number(value.toPrecision(5)));
  }
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) return value.map(formatValue).join(", ");
    return JSON.stringify(value);
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

const isScalar = (v) => v === null || typeof v !== "object" || (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object") && v.length <= 12);
const isRecords = (v) => Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === "object" && !Array.isArray(x));

/** True when `points` looks like a time series: records with time_h (or time_s) and a numeric value. */
export function isSeries(points) {
  return isRecords(points) && points.length > 1 &&
    ("time_h" in points[0] || "time_s" in points[0]) && Object.values(points[0]).some((v) => typeof v === "number");
}

function keyValueTable(entries) {
  return h("table", { class: "table kv" },
    h("tbody", {}, entries.map(([key, value]) => h("tr", {}, h("th", { scope: "row", text: label(key) }), h("td", { text: formatValue(value) })))));
}

/** A table of records (first MAX_ROWS, with a count of the rest). */
export function recordsTable(rows) {
  const columns = [];
  for (const row of rows.slice(0, 20)) {
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  }
  const shown = rows.slice(0, MAX_ROWS);
  const table = h("table", { class: "table" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", text: label(c) })))),
    h("tbody", {}, shown.map((row) => h("tr", {}, columns.map((c) => h("td", { text: formatValue(row[c]) }))))));
  return h("div", { class: "table-scroll" }, table,
    rows.length > MAX_ROWS ? h("p", { class: "muted small", i18n: "result.more_rows", i18nParams: { count: rows.length - MAX_ROWS } }) : null);
}

/** A line chart of a time series. */
export function seriesChart(points, { title, unit } = {}) {
  const valueKeys = Object.keys(points[0]).filter((k) => !["time_s", "time_h"].includes(k) && typeof points[0][k] === "number");
  const canvas = h("canvas", { role: "img", "aria-label": title || t("result.chart") });
  const box = h("div", { class: "chart-box" }, canvas);
  const labels = points.map((p) => (p.time_h !== undefined ? p.time_h : p.time_s / 3600));
  queueMicrotask(() => drawChart(canvas, {
    kind: "line",
    labels,
    series: valueKeys.map((k) => ({ label: label(k) + (unit ? ` (${unit})` : ""), data: points.map((p) => p[k]) })),
    xTitle: t("result.time_h"),
    yTitle: unit || "",
  }).catch(() => box.replaceChildren(h("p", { class: "muted", i18n: "errors.chart" }))));
  return box;
}

/** Render any analysis result as DOM. */
export function renderResult(result, depth = 0) {
  if (result === null || result === undefined) return h("p", { class: "muted", text: "—" });
  if (typeof result !== "object") return h("p", { text: formatValue(result) });
  if (isRecords(result)) return recordsTable(result);
  if (Array.isArray(result)) return h("p", { text: formatValue(result) });
  const box = h("div", { class: "result" });
  const scalars = Object.entries(result).filter(([k, v]) => isScalar(v) && k !== "points");
  if (result.points && isSeries(result.points)) {
    box.append(seriesChart(result.points, { title: result.element, unit: result.unit }));
  }
  if (scalars.length) box.append(keyValueTable(scalars));
  for (const [key, value] of Object.entries(result)) {
    if (isScalar(value) || key === "points") continue;
    const section = h("section", { class: "result-section" }, h("h4", { text: label(key) }));
    if (isSeries(value)) section.append(seriesChart(value, { title: label(key) }));
    else if (isRecords(value)) section.append(recordsTable(value));
    else if (depth >= MAX_DEPTH) section.append(h("pre", { class: "json", text: JSON.stringify(value, null, 2) }));
    else if (Array.isArray(value) && value.length === 0) section.append(h("p", { class: "muted", i18n: "result.none" }));
    else section.append(renderResult(value, depth + 1));
    box.append(section);
  }
  return box;
}

/** The raw JSON behind a result, collapsed. */
export function rawJson(value, summaryKey = "result.raw") {
  return h("details", { class: "raw" }, h("summary", { i18n: summaryKey }),
    h("pre", { class: "json", text: JSON.stringify(value, null, 2) }));
}
