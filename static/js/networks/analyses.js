// Running an analysis on a network: a small form per kind, a synchronous
// answer (200 {result}) or a background job (202 {job}) polled with progress.

import { api } from "../core/api.js";
import { errorBlock, h, loadingBlock, mount } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { rawJson } from "../core/results.js";
import { analysisView } from "./views.js";

// kind → parameter fields (name, type, default shown as placeholder); the server validates.
export const ANALYSES = {
  hydraulic: [["duration_h", "number"], ["pressure_threshold_m", "number", 20], ["demand_model", ["DD", "PDD"]]],
  water_age: [["duration_h", "number"]],
  resilience: [["duration_h", "number"], ["pressure_threshold_m", "number", 20]],
  topology: [],
  pipe_criticality: [["max_pipes", "integer", 10], ["min_diameter_m", "number", 0]],
  fire_flow: [["fire_demand_m3_s", "number", 0.0946], ["max_hydrants", "integer", 10]],
  leak_scenario: [["junction", "junction"], ["area_m2", "number", 0.005], ["start_h", "number", 0]],
  what_if: [["demand_multiplier", "number", 1.2], ["close_pipes", "list"]],
};

const POLL_MS = 1000;

function fieldFor([name, type, placeholder], names) {
  const label = h("span", { i18n: `param.${name}` });
  let input;
  if (Array.isArray(type)) {
    input = h("select", { class: "input", name }, type.map((v) => h("option", { value: v, text: v })));
  } else if (type === "junction") {
    input = h("select", { class: "input", name, required: true }, (names.junctions || []).map((v) => h("option", { value: v, text: v })));
  } else {
    input = h("input", {
      class: "input", name, type: type === "list" ? "text" : "number", step: type === "integer" ? "1" : "any",
      placeholder: placeholder !== undefined ? String(placeholder) : t("common.default"), dataset: { kind: type },
    });
  }
  return h("label", { class: "field" }, label, input);
}

function readParams(form, fields) {
  const params = {};
  for (const [name, type] of fields) {
    const el = form.elements.namedItem(name);
    const raw = el ? el.value.trim() : "";
    if (raw === "") continue;
    if (type === "number") params[name] = Number(raw);
    else if (type === "integer") params[name] = parseInt(raw, 10);
    else if (type === "list") params[name] = raw.split(/[,，\s]+/).filter(Boolean);
    else params[name] = raw;
  }
  return params;
}

/**
 * The "run an analysis" card for a network. `names()` gives element names for pickers;
 * `initial` ({kind}) preselects an analysis and runs it at once (links from the assistant's brief).
 */
export function analysisCard(network, names, canRun, initial = null) {
  const kind = h("select", { class: "input", name: "kind", "data-testid": "analysis-kind" },
    Object.keys(ANALYSES).map((k) => h("option", { value: k, i18n: `analysis.${k}` })));
  const fieldsBox = h("div", { class: "form-row" });
  const run = h("button", { class: "btn btn-primary", type: "submit", i18n: "net.run", disabled: !canRun, "data-testid": "run-analysis" });
  const form = h("form", {}, h("div", { class: "form-row" }, h("label", { class: "field" }, h("span", { i18n: "net.analysis" }), kind), run), fieldsBox);
  const description = h("p", { class: "muted small" });
  const output = h("div", { class: "analysis-output", "data-testid": "analysis-output" });
  const renderFields = () => {
    mount(fieldsBox, ANALYSES[kind.value].map((f) => fieldFor(f, names())));
    description.dataset.i18n = `analysis.${kind.value}_desc`;
    description.textContent = t(`analysis.${kind.value}_desc`);
  };
  kind.addEventListener("change", renderFields);
  if (initial && ANALYSES[initial.kind]) kind.value = initial.kind;
  renderFields();
  const go = async () => {
    run.disabled = true;
    try {
      await runAnalysis(network, kind.value, readParams(form, ANALYSES[kind.value]), output);
    } finally {
      run.disabled = !canRun;
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go();
  });
  if (initial && ANALYSES[initial.kind] && canRun) {
    go().then(() => {
      const target = output.querySelector("#result-map") || output;
      target.scrollIntoView({ block: "start" });
    });
  }
  return h("section", { class: "card" }, h("h2", { i18n: "net.analyses_title" }), form, description, output);
}

async function runAnalysis(network, kind, params, output) {
  mount(output, loadingBlock("net.running"));
  try {
    const data = await api(`/api/networks/${network.id}/analyses/${kind}`, { method: "POST", body: { params } });
    if (data.job) {
      const job = await followJob(data.job, output);
      if (job !== undefined) showResult(output, job, { kind, network, params, jobId: job.id });
    } else {
      showResult(output, data, { kind, network, params });
    }
  } catch (err) {
    mount(output, errorBlock(err, () => runAnalysis(network, kind, params, output)));
  }
}

function showResult(output, data, ctx) {
  mount(output, h("h3", { i18n: "net.result" }), analysisView(data, ctx), rawJson(data.result));
}

function progressFraction(job) {
  const p = Number(job.progress || 0);
  return p > 1 ? p / 100 : p;
}

/** Poll a background job until it ends, showing its progress; resolves the finished job. */
async function followJob(job, output) {
  const bar = h("progress", { max: 1, value: 0, "data-testid": "job-progress" });
  const status = h("span", { class: "muted small" });
  mount(output, h("div", { class: "job" }, h("p", { i18n: "net.job_running" }), bar, status));
  let current = job;
  for (;;) {
    bar.value = progressFraction(current);
    status.textContent = t(`job.${current.status}`) + ` · ${Math.round(progressFraction(current) * 100)}%`;
    if (current.status === "finished" || current.status === "succeeded" || current.status === "done") return current;
    if (current.status === "failed" || current.status === "error") throw Object.assign(new Error(current.error || "job failed"), { code: "job_failed", details: {} });
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (!output.isConnected) return undefined;
    current = (await api(`/api/jobs/${current.id}`)).job;
  }
}
