// DOM helpers.  Text always goes in through textContent: the only HTML the UI
// ever parses is sanitized Markdown (markdown.js).

import { locale, t } from "./i18n.js";

/**
 * Build an element.  attrs: class, text, i18n (key; re-translated on language change),
 * i18nParams, dataset, on (event → handler), and any other attribute (false/null = absent).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = value;
    else if (key === "i18n") {
      el.dataset.i18n = value;
      if (attrs.i18nParams) el.dataset.i18nParams = JSON.stringify(attrs.i18nParams);
      el.textContent = t(value, attrs.i18nParams);
    } else if (key === "i18nParams") continue;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === "value") el.value = value;
    else if (key === "checked" || key === "disabled" || key === "selected" || key === "hidden") el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

/** Replace the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A localized message for an API error (errors.<code>, else the server's message). */
export function errorText(err) {
  if (!err) return t("errors.unknown");
  if (err.name === "AbortError") return t("errors.aborted");
  const code = err.code || "unknown";
  const d = err.details || {};
  if (code === "quota_exceeded") {
    const params = { quota: t(`quota.${d.quota}`), used: formatNumber(d.used), limit: formatNumber(d.limit) };
    if (!d.resets_at) return t("errors.quota_exceeded_count", params);
    return t("errors.quota_exceeded", { ...params, resets: formatDateTime(d.resets_at) });
  }
  const key = `errors.${code}`;
  const text = t(key);
  if (text !== key) return text;
  return err.message || t("errors.unknown");
}

/** Small state blocks: loading, empty, error (with an optional retry). */
export function loadingBlock(key = "common.loading") {
  return h("div", { class: "state state-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }),
    h("span", { i18n: key }));
}

export function emptyBlock(key, hintKey) {
  return h("div", { class: "state state-empty" }, h("p", { i18n: key }), hintKey ? h("p", { class: "muted", i18n: hintKey }) : null);
}

export function errorBlock(err, retry) {
  return h("div", { class: "state state-error", role: "alert" }, h("p", { text: errorText(err) }),
    retry ? h("button", { class: "btn", type: "button", i18n: "common.retry", on: { click: retry } }) : null);
}

let toastRegion = null;

/** A transient message in the corner (announced to screen readers). */
export function toast(message, kind = "info") {
  if (!toastRegion) {
    toastRegion = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastRegion);
  }
  const item = h("div", { class: `toast toast-${kind}`, text: message });
  toastRegion.append(item);
  setTimeout(() => item.classList.add("toast-hide"), 3500);
  setTimeout(() => item.remove(), 4000);
}

/** Disable a button while `promise` runs. */
export async function busy(button, promise) {
  button.disabled = true;
  button.classList.add("is-busy");
  try {
    return await promise;
  } finally {
    button.disabled = false;
    button.classList.remove("is-busy");
  }
}

/** Show per-field messages of a 422 under the form's inputs; returns true when any was shown. */
export function showFieldErrors(form, err) {
  form.querySelectorAll(".field-error").forEach((el) => el.remove());
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const fields = err && err.fields ? err.fields : {};
  let shown = false;
  for (const [name, message] of Object.entries(fields)) {
    const input = form.elements.namedItem(name);
    if (!input || !input.after) continue;
    input.setAttribute("aria-invalid", "true");
    input.after(h("span", { class: "field-error", text: message }));
    shown = true;
  }
  return shown;
}

export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return Number(value).toLocaleString(locale(), { maximumFractionDigits: digits });
}

export function formatDateTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(locale(), { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

export function formatDate(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleDateString(locale(), { month: "2-digit", day: "2-digit" });
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value, unit ? 1 : 0)} ${units[unit]}`;
}

/** Copy text to the clipboard (falls back to a hidden textarea outside secure contexts). */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", { class: "offscreen", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}
