// Modal dialogs on <dialog>: confirm, prompt, a form, and "shown once" secrets.

import { t } from "./i18n.js";
import { copyText, h, toast } from "./dom.js";

function open(dialog) {
  document.body.append(dialog);
  dialog.showModal();
  dialog.addEventListener("close", () => dialog.remove());
  return dialog;
}

/** Ask a yes/no question; resolves true on confirm. */
export function confirmDialog({ title, message, confirmKey = "common.confirm", danger = false }) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog" },
      h("form", { method: "dialog", class: "dialog-body" },
        h("h2", { text: title }),
        message ? h("p", { text: message }) : null,
        h("div", { class: "dialog-actions" },
          h("button", { class: "btn", value: "cancel", type: "submit", i18n: "common.cancel" }),
          h("button", { class: danger ? "btn btn-danger" : "btn btn-primary", value: "ok", type: "submit", i18n: confirmKey }))));
    open(dialog).addEventListener("close", () => resolve(dialog.returnValue === "ok"));
  });
}

/** Ask for one line of text; resolves the text, or null when cancelled. */
export function promptDialog({ title, label, value = "", required = true, maxLength = 200 }) {
  return new Promise((resolve) => {
    const input = h("input", { class: "input", name: "value", value, maxlength: maxLength, required, autocomplete: "off" });
    const dialog = h("dialog", { class: "dialog" },
      h("form", { method: "dialog", class: "dialog-body" },
        h("h2", { text: title }),
        h("label", { class: "field" }, h("span", { text: label }), input),
        h("div", { class: "dialog-actions" },
          h("button", { class: "btn", value: "cancel", type: "submit", formnovalidate: true, i18n: "common.cancel" }),
          h("button", { class: "btn btn-primary", value: "ok", type: "submit", i18n: "common.save" }))));
    open(dialog).addEventListener("close", () => resolve(dialog.returnValue === "ok" ? input.value.trim() : null));
    input.select();
  });
}

/**
 * A dialog around a form.  `build(form)` adds the fields; `submit(form)` returns a promise
 * (throw to keep the dialog open; the error is shown by `onError`).
 */
export function formDialog({ title, build, submit, submitKey = "common.save", onError }) {
  return new Promise((resolve) => {
    const form = h("form", { class: "dialog-body" });
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const ok = h("button", { class: "btn btn-primary", type: "submit", i18n: submitKey });
    const cancel = h("button", { class: "btn", type: "button", i18n: "common.cancel" });
    form.append(h("h2", { text: title }));
    build(form);
    form.append(error, h("div", { class: "dialog-actions" }, cancel, ok));
    const dialog = h("dialog", { class: "dialog" }, form);
    let result = null;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      ok.disabled = true;
      error.hidden = true;
      try {
        result = await submit(form);
        dialog.close();
      } catch (err) {
        error.textContent = onError ? onError(err, form) : String(err.message || err);
        error.hidden = false;
      } finally {
        ok.disabled = false;
      }
    });
    open(dialog).addEventListener("close", () => resolve(result));
  });
}

/** Show a secret that the server will never show again (API key, reset link), with Copy. */
export function secretDialog({ title, message, secret }) {
  return new Promise((resolve) => {
    const code = h("code", { class: "secret", text: secret, "data-testid": "secret-value" });
    const copy = h("button", { class: "btn", type: "button", i18n: "common.copy", on: {
      click: async () => {
        await copyText(secret);
        toast(t("common.copied"), "ok");
      },
    } });
    const dialog = h("dialog", { class: "dialog" },
      h("form", { method: "dialog", class: "dialog-body" },
        h("h2", { text: title }),
        h("p", { class: "warning", text: message }),
        h("div", { class: "secret-row" }, code, copy),
        h("div", { class: "dialog-actions" },
          h("button", { class: "btn btn-primary", type: "submit", value: "ok", i18n: "common.done" }))));
    open(dialog).addEventListener("close", () => resolve());
  });
}
