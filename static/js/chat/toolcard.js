// A tool call as a collapsible card: name, status, duration, arguments and result.

import { h } from "../core/dom.js";
import { has, t } from "../core/i18n.js";
import { rawJson, renderResult } from "../core/results.js";

function toolLabel(name) {
  const key = `tool.${name}`;
  return has(key) ? t(key) : name;
}

function parseArgs(args) {
  if (typeof args !== "string") return args || {};
  try {
    return JSON.parse(args || "{}");
  } catch {
    return { arguments: args };
  }
}

export class ToolCard {
  constructor(call) {
    this.call = call;
    this.status = h("span", { class: "tool-status tool-running" }, h("span", { class: "spinner", "aria-hidden": "true" }),
      h("span", { i18n: "chat.tool_running" }));
    this.duration = h("span", { class: "muted small" });
    this.body = h("div", { class: "tool-body" });
    this.el = h("details", { class: "tool-card", "data-testid": "tool-card", dataset: { tool: call.name } },
      h("summary", {}, h("span", { class: "tool-icon", "aria-hidden": "true", text: "⚙" }),
        h("span", { class: "tool-name", text: toolLabel(call.name) }), this.status, this.duration),
      this.body);
    this.renderArgs();
  }

  renderArgs() {
    const args = parseArgs(this.call.arguments);
    this.body.replaceChildren();
    if (Object.keys(args).length) {
      this.body.append(h("h4", { i18n: "chat.tool_arguments" }), renderResult(args));
    }
  }

  /** Show the result (`full_result` when the server kept a richer one for the UI). */
  setResult({ result, full_result: full, is_error: isError, duration_ms: ms }) {
    this.status.replaceChildren(h("span", { i18n: isError ? "chat.tool_failed" : "chat.tool_done" }));
    this.status.className = `tool-status ${isError ? "tool-error" : "tool-ok"}`;
    if (ms !== undefined && ms !== null) this.duration.textContent = t("chat.tool_ms", { ms: Math.round(ms) });
    this.renderArgs();
    const shown = full || result;
    this.body.append(h("h4", { i18n: isError ? "chat.tool_error" : "chat.tool_result" }),
      isError ? h("p", { class: "error-text", text: (shown && (shown.error || shown.message)) || JSON.stringify(shown) }) : renderResult(shown),
      rawJson(shown));
    if (isError) this.el.classList.add("is-error");
  }
}
