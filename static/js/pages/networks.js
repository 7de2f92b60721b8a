// Networks page: list, upload with progress, bundled examples, one network's detail.

import { startAppPage } from "../core/layout.js";
import { api, upload } from "../core/api.js";
import { $, $$, emptyBlock, errorBlock, errorText, formatNumber, h, loadingBlock, mount, toast } from "../core/dom.js";
import { confirmDialog } from "../core/dialog.js";
import { t } from "../core/i18n.js";
import { can } from "../core/session.js";
import { showNetwork } from "../networks/detail.js";

await startAppPage({ need: "networks:read" });

const listEl = $("[data-net-list]");
const listState = $("[data-net-state]");
const detail = $("[data-detail]");
const uploadForm = $("[data-upload]");
const importForm = $("[data-import]");
const canWrite = can("networks:write");
const canRun = can("analyses:run");
let selected = null;

if (!canWrite) $$("[data-needs-write]").forEach((el) => { el.hidden = true; });

function networkIdFromUrl() {
  const match = location.pathname.match(/^\/networks\/([^/]+)$/);
  if (match) return decodeURIComponent(match[1]);
  return new URLSearchParams(location.search).get("network");
}

// /networks?network=…&analysis=hydraulic (the assistant's "see it on the map" link) runs that analysis once.
let linkedAnalysis = new URLSearchParams(location.search).get("analysis");

async function loadList() {
  mount(listState, loadingBlock());
  try {
    const data = await api("/api/networks");
    const networks = data.networks || [];
    mount(listEl, networks.map((n) => h("li", {},
      h("button", { type: "button", class: "net-link", "aria-current": n.id === selected ? "true" : null, dataset: { id: n.id },
        on: { click: () => select(n.id, true) } },
      h("b", { text: n.name }),
      h("span", { class: "muted small", text: n.summary && n.summary.counts
        ? ` · ${t("net.counts", { junctions: formatNumber(n.summary.counts.junctions), pipes: formatNumber(n.summary.counts.pipes) })}` : "" })))));
    if (networks.length) listState.replaceChildren();
    else mount(listState, emptyBlock("net.none", canWrite ? "net.none_hint" : null));
    return networks;
  } catch (err) {
    // A 404 on the list itself means this server has no networks API (yet).
    mount(listState, err.status === 404
      ? h("p", { class: "state state-error", i18n: "errors.api_missing" }) : errorBlock(err, loadList));
    return [];
  }
}

function markSelected() {
  $$(".net-link", listEl).forEach((b) => {
    if (b.dataset.id === selected) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  });
}

async function select(id, push) {
  selected = id;
  markSelected();
  if (push) history.pushState(null, "", `/networks/${id}`);
  if (!id) {
    mount(detail, h("section", { class: "card" }, emptyBlock("net.pick", canWrite ? "net.pick_hint" : null)));
    return;
  }
  const analysis = linkedAnalysis;
  linkedAnalysis = null;
  await showNetwork(detail, id, { canWrite, canRun, onDelete: remove, analysis });
}

async function remove(network) {
  const ok = await confirmDialog({ title: t("net.delete_title"), message: t("net.delete_confirm", { name: network.name }), confirmKey: "common.delete", danger: true });
  if (!ok) return;
  try {
    await api(`/api/networks/${network.id}`, { method: "DELETE" });
    toast(t("net.deleted"), "ok");
    history.pushState(null, "", "/networks");
    await loadList();
    select(null, false);
  } catch (err) {
    toast(errorText(err), "error");
  }
}

async function added(network) {
  await loadList();
  await select(network.id, true);
}

uploadForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = $(".form-error", uploadForm);
  const bar = $("[data-upload-progress]", uploadForm);
  const button = $("button[type=submit]", uploadForm);
  error.hidden = true;
  const file = uploadForm.file.files[0];
  if (!file) {
    error.textContent = t("net.choose_file");
    error.hidden = false;
    return;
  }
  const form = new FormData();
  form.append("file", file);
  if (uploadForm.name.value.trim()) form.append("name", uploadForm.name.value.trim());
  bar.hidden = false;
  bar.value = 0;
  button.disabled = true;
  try {
    const data = await upload("/api/networks", form, (fraction) => { bar.value = fraction; });
    uploadForm.reset();
    toast(t("net.uploaded"), "ok");
    await added(data.network);
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
  } finally {
    bar.hidden = true;
    button.disabled = false;
  }
});

async function loadExamples() {
  const select = importForm.example;
  try {
    const data = await api("/api/networks/examples");
    const examples = (data.examples || []).map((e) => (typeof e === "string" ? { name: e } : e));
    mount(select, examples.map((e) => h("option", { value: e.name || e.id, text: e.title || e.name || e.id })));
  } catch {
    // The list is a convenience: offer WNTR's bundled Net1 when it cannot be read.
    mount(select, h("option", { value: "Net1", text: "Net1" }));
  }
}

importForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = $("[data-import-error]");
  const button = $("button[type=submit]", importForm);
  error.hidden = true;
  button.disabled = true;
  try {
    const data = await api("/api/networks/import", { method: "POST", body: { example: importForm.example.value } });
    toast(t("net.imported"), "ok");
    await added(data.network);
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});

window.addEventListener("popstate", () => select(networkIdFromUrl(), false));

const networks = await loadList();
if (canWrite) loadExamples();
const initial = networkIdFromUrl() || (networks[0] && networks[0].id) || null;
select(initial, false);
