// The print-ready report of one analysis: network, settings and their sources, findings, key figures,
// map, charts and tables.  /networks/<id>/report?kind=…&params=… or ?job=…; browser print gives the PDF.

import { startAppPage } from "../core/layout.js";
import { api } from "../core/api.js";
import { $, errorBlock, formatDateTime, formatNumber, h, loadingBlock, mount } from "../core/dom.js";
import { getLang, onLangChange, t } from "../core/i18n.js";
import { analysisView, settingsTable } from "../networks/views.js";

await startAppPage({ need: "networks:read" });

const root = $("[data-report]");
const networkId = decodeURIComponent((location.pathname.match(/^\/networks\/([^/]+)\/report$/) || [])[1] || "");
const query = new URLSearchParams(location.search);
const jobId = query.get("job");
const kind = query.get("kind");
let params = {};
try {
  params = JSON.parse(query.get("params") || "{}");
} catch {
  params = {};
}
let data = null;

function render() {
  const network = data.network;
  const counts = (network.summary || {}).counts || {};
  const title = t(`analysis.${data.kind}`);
  document.title = `${network.name} · ${title} · HydroNet`;
  mount(root,
    h("header", { class: "report-head" },
      h("div", {},
        h("h1", { text: `${network.name} · ${title}`, "data-testid": "report-title" }),
        h("p", { class: "report-meta" },
          h("span", { i18n: "report.generated" }), `: ${formatDateTime(data.generated_at)} (${Intl.DateTimeFormat().resolvedOptions().timeZone}) · `,
          `${network.filename} · `,
          t("net.counts", { junctions: formatNumber(counts.junctions), pipes: formatNumber(counts.pipes) }),
          counts.tanks !== undefined ? ` · ${formatNumber(counts.tanks)} ${t("summary.tanks")}` : "",
          counts.pumps !== undefined ? ` · ${formatNumber(counts.pumps)} ${t("summary.pumps")}` : "")),
      h("div", { class: "no-print report-actions" },
        h("button", { class: "btn btn-primary", type: "button", i18n: "report.print", "data-testid": "report-print", on: { click: () => window.print() } }),
        " ",
        h("a", { class: "btn", href: `/networks/${encodeURIComponent(network.id)}`, i18n: "report.back" }))),
    settingsTable(data.settings),
    analysisView(data, { kind: data.kind, network, jobId, params, print: true }));
  document.documentElement.lang = getLang() === "zh" ? "zh-CN" : "en";
}

async function load() {
  if (!networkId || (!jobId && !kind)) {
    mount(root, h("p", { class: "state state-error", i18n: "report.missing" }));
    return;
  }
  mount(root, loadingBlock());
  try {
    data = jobId ? await api(`/api/jobs/${encodeURIComponent(jobId)}/report`)
      : await api(`/api/networks/${encodeURIComponent(networkId)}/analyses/${encodeURIComponent(kind)}/report`, { query: { params: JSON.stringify(params) } });
    render();
  } catch (err) {
    mount(root, errorBlock(err, load));
  }
}

onLangChange(() => data && render());
load();
