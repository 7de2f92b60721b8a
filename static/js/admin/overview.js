// Admin › Overview: platform statistics and the health of this instance.

import { api } from "../core/api.js";
import { errorBlock, formatNumber, h, loadingBlock, mount } from "../core/dom.js";
import { t } from "../core/i18n.js";

const stat = (key, value, testid) => h("div", { class: "stat", "data-testid": testid }, h("b", { text: value }), h("span", { i18n: key }));

export async function renderOverview(panel) {
  mount(panel, loadingBlock());
  try {
    const [{ stats }, health] = await Promise.all([api("/api/admin/stats"), api("/api/admin/health").catch((err) => ({ error: err }))]);
    const tenants = stats.tenants || {};
    const healthRows = health.error ? [["admin.health", t("errors.unknown")]] : [
      ["admin.version", health.version], ["admin.assistant", health.assistant], ["admin.database", health.database],
      ["admin.store", health.store], ["admin.job_queue", formatNumber(health.job_queue_depth)],
      ...Object.entries(health.dependencies || {}).map(([k, v]) => [`admin.dep_${k}`, v]),
    ];
    mount(panel,
      h("section", { class: "card" }, h("h2", { i18n: "admin.stats" }),
        h("div", { class: "stats", "data-testid": "admin-stats" },
          stat("admin.tenants_total", formatNumber(tenants.total), "stat-tenants"),
          stat("admin.tenants_active", formatNumber(tenants.active)),
          stat("admin.tenants_trial", formatNumber(tenants.trial)),
          stat("admin.tenants_suspended", formatNumber(tenants.suspended)),
          stat("admin.users", formatNumber(stats.users)),
          stat("admin.messages_today", formatNumber(stats.messages_today)),
          stat("admin.tokens_today", formatNumber(stats.tokens_today)),
          stat("admin.model_calls", formatNumber(stats.model_calls_24h)),
          stat("admin.error_rate", `${formatNumber((stats.model_error_rate_24h || 0) * 100, 2)}%`))),
      h("section", { class: "card" }, h("h2", { i18n: "admin.health" }),
        h("table", { class: "table kv" }, h("tbody", {}, healthRows.map(([k, v]) => h("tr", {}, h("th", { i18n: k }), h("td", { text: v ?? "—" })))))));
  } catch (err) {
    mount(panel, errorBlock(err, () => renderOverview(panel)));
  }
}
