// Usage page: quotas with reset times and the last 30 days.

import { startAppPage } from "../core/layout.js";
import { api } from "../core/api.js";
import { $, errorBlock, loadingBlock, mount } from "../core/dom.js";
import { onLangChange } from "../core/i18n.js";
import { renderUsage } from "../usage/report.js";

await startAppPage({ need: "usage:read" });

const root = $("[data-usage]");
let report = null;

async function load() {
  mount(root, loadingBlock());
  try {
    report = (await api("/api/tenant/usage")).usage;
    mount(root, renderUsage(report));
  } catch (err) {
    mount(root, errorBlock(err, load));
  }
}

$("[data-refresh]").addEventListener("click", load);
onLangChange(() => report && mount(root, renderUsage(report)));
load();
