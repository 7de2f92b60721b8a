// The usage report (GET /api/tenant/usage and the admin's per-tenant view):
// each quota as a bar with its reset time, this month's totals, 30-day charts.

import { formatDate, formatDateTime, formatNumber, h } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { drawChart } from "../core/charts.js";

const ORDER = ["messages_per_day", "tokens_per_month", "conversations", "networks", "users", "api_keys", "mcp_servers", "storage_mb", "requests_per_minute"];

function quotaBar(name, q) {
  const used = q.used;
  const rate = used === null || used === undefined;
  let nums;
  if (rate) nums = q.unlimited ? t("common.unlimited") : t("usage.per_minute", { limit: formatNumber(q.limit) });
  else if (q.unlimited) nums = t("usage.used_unlimited", { used: formatNumber(used, 2) });
  else nums = t("usage.used_of", { used: formatNumber(used, 2), limit: formatNumber(q.limit) });
  let fraction = 0;
  if (!q.unlimited && !rate) fraction = q.limit > 0 ? Math.min(1, (used || 0) / q.limit) : 1;  // a limit of 0 is full
  const bar = rate || q.unlimited ? null : h("progress", { max: 1, value: fraction, "aria-label": t(`quota.${name}`),
    class: fraction >= 1 ? "full" : fraction >= 0.8 ? "warn" : null });
  let note = t("usage.no_reset");
  if (q.resets_at) note = t("usage.resets", { time: formatDateTime(q.resets_at) });
  else if (rate) note = t("usage.rate_limit");
  return h("div", { class: "quota", "data-testid": `quota-${name}`, dataset: { quota: name } },
    h("div", { class: "quota-head" }, h("b", { i18n: `quota.${name}` }), h("span", { class: "quota-nums", text: nums })),
    bar, h("div", { class: "quota-reset", text: note }));
}

function chartCard(titleKey, draw) {
  const canvas = h("canvas", { role: "img", "aria-label": t(titleKey) });
  queueMicrotask(() => draw(canvas));
  return h("section", { class: "card" }, h("h3", { i18n: titleKey }), h("div", { class: "chart-box" }, canvas));
}

/** DOM for a usage report. */
export function renderUsage(report) {
  const quotas = report.quotas || {};
  const names = ORDER.filter((n) => n in quotas).concat(Object.keys(quotas).filter((n) => !ORDER.includes(n)));
  const month = report.totals_this_month || {};
  const daily = report.daily || [];
  const labels = daily.map((d) => formatDate(d.date));
  const active = daily.some((d) => d.messages || d.tokens || d.tool_runs);
  const stat = (key, value) => h("div", { class: "stat" }, h("b", { text: value }), h("span", { i18n: key }));
  return h("div", { class: "usage" },
    h("section", { class: "card" },
      h("div", { class: "card-head" }, h("h2", { i18n: "usage.month" }),
        h("span", { class: "badge", "data-testid": "plan", i18n: `plan.${report.plan}` })),
      h("div", { class: "stats" },
        stat("usage.messages", formatNumber(month.messages)),
        stat("usage.offline_messages", formatNumber(month.offline_messages || 0)),
        stat("usage.tokens", formatNumber(month.tokens)),
        stat("usage.cost", formatNumber(month.cost_cny, 4))),
      h("p", { class: "muted small" }, h("span", { i18n: "usage.models" }), ": ", (report.models || []).join(", "))),
    h("h2", { i18n: "usage.quotas" }),
    h("div", { class: "quota-grid", "data-testid": "quotas" }, names.map((n) => quotaBar(n, quotas[n]))),
    h("h2", { class: "section-gap", i18n: "usage.last_30_days" }),
    active ? null : h("p", { class: "muted", i18n: "usage.no_activity" }),
    h("div", { class: "charts-grid" },
      chartCard("usage.messages_chart", (c) => drawChart(c, { kind: "bar", labels, series: [
        { label: t("usage.messages"), data: daily.map((d) => d.messages) },
        { label: t("usage.tool_runs"), data: daily.map((d) => d.tool_runs || 0) }] })),
      chartCard("usage.tokens_chart", (c) => drawChart(c, { kind: "bar", labels, series: [
        { label: t("usage.input_tokens"), data: daily.map((d) => d.input_tokens || 0) },
        { label: t("usage.output_tokens"), data: daily.map((d) => d.output_tokens || 0) }] })),
      chartCard("usage.cost_chart", (c) => drawChart(c, { kind: "line", labels, fromZero: true, series: [
        { label: t("usage.cost"), data: daily.map((d) => d.cost_cny || 0) }] }))));
}
