// Settings › Analysis defaults: the design inputs every analysis of the organisation defaults to
// (storeys → service head, fire flow, leak size…), each beside its national default and the standard it comes from.

import { api } from "../core/api.js";
import { errorBlock, errorText, formatDateTime, h, loadingBlock, mount, showFieldErrors, toast } from "../core/dom.js";
import { getLang, t } from "../core/i18n.js";
import { can } from "../core/session.js";

const label = (field) => (field.label && (field.label[getLang()] || field.label.zh)) || field.name;

function inputFor(field, editable) {
  const step = field.integer ? 1 : "any";
  return h("input", {
    class: "input input-number", type: "number", name: field.name, value: String(field.value), step,
    min: field.minimum_exclusive ? undefined : field.minimum, max: field.maximum, required: true,
    disabled: !editable, "aria-label": label(field), "data-testid": `default-${field.name}`,
  });
}

function form(data, reload) {
  const editable = can("tenant:update");
  const rows = data.fields.map((field) => h("tr", { "data-changed": String(field.changed) },
    h("th", { scope: "row" }, label(field), field.changed ? h("span", { class: "badge badge-ok small", i18n: "defaults.changed" }) : null),
    h("td", {}, h("div", { class: "defaults-value" }, inputFor(field, editable), h("span", { class: "muted small", text: field.unit || "" }))),
    h("td", { class: "small", text: `${field.national}${field.unit ? " " + field.unit : ""}` }),
    h("td", { class: "muted small", text: field.source || "—" })));
  const el = h("form", { novalidate: true, "data-testid": "defaults-form" },
    h("p", { class: "small", "data-testid": "defaults-head" }, t("defaults.service_head", { head: data.service_head_m })),
    h("div", { class: "table-scroll" }, h("table", { class: "table table-compact" },
      h("thead", {}, h("tr", {}, ["defaults.item", "defaults.value", "defaults.national", "defaults.source"].map((k) => h("th", { i18n: k })))),
      h("tbody", {}, rows))),
    h("p", { class: "form-error", role: "alert", hidden: true }),
    editable ? h("div", { class: "form-actions" },
      h("button", { type: "submit", class: "btn btn-primary", i18n: "common.save", "data-testid": "defaults-save" }),
      h("button", { type: "button", class: "btn", i18n: "defaults.reset", "data-testid": "defaults-reset" })) : null,
    data.updated_at ? h("p", { class: "muted small" }, t("defaults.updated_at", { at: formatDateTime(data.updated_at) })) : null);
  const error = el.querySelector(".form-error");
  const save = async (body) => {
    error.hidden = true;
    try {
      await api("/api/tenant/analysis-defaults", { method: "PUT", body });
      toast(t("common.saved"), "ok");
      reload();
    } catch (err) {
      if (!showFieldErrors(el, err)) {
        error.textContent = errorText(err);
        error.hidden = false;
      }
    }
  };
  el.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {};
    for (const field of data.fields) {
      const raw = el.elements.namedItem(field.name).value.trim();
      body[field.name] = raw === "" ? null : Number(raw);
    }
    save(body);
  });
  const reset = el.querySelector("[data-testid=defaults-reset]");
  if (reset) reset.addEventListener("click", () => save({}));
  return el;
}

/** Render the analysis-defaults tab into `panel`. */
export function renderDefaults(panel) {
  const box = h("div");
  const reload = async () => {
    mount(box, loadingBlock());
    try {
      const { analysis_defaults: data } = await api("/api/tenant/analysis-defaults");
      mount(box, form(data, reload));
    } catch (err) {
      mount(box, errorBlock(err, reload));
    }
  };
  reload();
  mount(panel, h("section", { class: "card", "data-testid": "analysis-defaults" },
    h("h2", { i18n: "defaults.title" }), h("p", { class: "muted small", i18n: "defaults.lead" }), box));
}
