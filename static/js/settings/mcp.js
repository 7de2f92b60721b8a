// Settings › MCP servers: add, test (connect and list tools), enable/disable, delete.

import { api } from "../core/api.js";
import { emptyBlock, errorBlock, errorText, formatDateTime, h, loadingBlock, mount, showFieldErrors, toast } from "../core/dom.js";
import { confirmDialog, formDialog } from "../core/dialog.js";
import { t } from "../core/i18n.js";

function parseHeaders(text) {
  const headers = {};
  for (const line of text.split("\n")) {
    const cut = line.indexOf(":");
    if (cut > 0) headers[line.slice(0, cut).trim()] = line.slice(cut + 1).trim();
  }
  return headers;
}

async function addServer(reload) {
  const created = await formDialog({
    title: t("mcp.add_title"),
    submitKey: "common.add",
    build(form) {
      form.append(
        h("label", { class: "field" }, h("span", { i18n: "mcp.name" }), h("input", { class: "input", name: "name", required: true, maxlength: 32, pattern: "[A-Za-z0-9][A-Za-z0-9_-]{0,31}" }),
          h("small", { class: "muted", i18n: "mcp.name_hint" })),
        h("label", { class: "field" }, h("span", { i18n: "mcp.url" }), h("input", { class: "input", type: "url", name: "url", required: true, placeholder: "https://scada.example.com/mcp" })),
        h("label", { class: "field" }, h("span", { i18n: "mcp.headers" }), h("textarea", { class: "input", name: "headers", rows: 3, placeholder: "Authorization: Bearer …" }),
          h("small", { class: "muted", i18n: "mcp.headers_hint" })));
    },
    async submit(form) {
      return api("/api/tenant/mcp-servers", { method: "POST", body: {
        name: form.name.value.trim(), url: form.url.value.trim(), headers: parseHeaders(form.headers.value) } });
    },
    onError: (err, form) => (showFieldErrors(form, err) ? t("errors.validation_error") : errorText(err)),
  });
  if (created) {
    toast(t("mcp.added"), "ok");
    reload();
  }
}

function serverCard(server, reload) {
  const result = h("div", { class: "mcp-test", "data-testid": "mcp-test-result" });
  const tools = (list) => (list && list.length
    ? h("ul", { class: "small" }, list.map((tool) => h("li", {}, h("code", { text: tool.chat_name || tool.name }), " ", h("span", { class: "muted", text: tool.description || "" }))))
    : h("p", { class: "muted small", i18n: "mcp.no_tools" }));
  const test = async (button) => {
    button.disabled = true;
    mount(result, loadingBlock("mcp.testing"));
    try {
      const data = await api(`/api/tenant/mcp-servers/${server.id}/test`, { method: "POST" });
      mount(result, h("p", { class: "badge badge-ok", i18n: "mcp.test_ok", i18nParams: { count: data.tools.length } }), tools(data.mcp_server.tools));
    } catch (err) {
      mount(result, h("p", { class: "form-error", role: "alert", text: `${errorText(err)}${err.details.detail ? ` (${err.details.detail})` : ""}` }));
    } finally {
      button.disabled = false;
    }
  };
  const toggle = async () => {
    try {
      await api(`/api/tenant/mcp-servers/${server.id}`, { method: "PATCH", body: { enabled: !server.enabled } });
      reload();
    } catch (err) {
      toast(errorText(err), "error");
    }
  };
  const remove = async () => {
    if (!(await confirmDialog({ title: t("mcp.delete_title"), message: t("mcp.delete_confirm", { name: server.name }), confirmKey: "common.delete", danger: true }))) return;
    try {
      await api(`/api/tenant/mcp-servers/${server.id}`, { method: "DELETE" });
      reload();
    } catch (err) {
      toast(errorText(err), "error");
    }
  };
  const testButton = h("button", { type: "button", class: "btn btn-sm", i18n: "mcp.test", "data-testid": "mcp-test" });
  testButton.addEventListener("click", () => test(testButton));
  return h("section", { class: "card", "data-testid": "mcp-server" },
    h("div", { class: "card-head" }, h("h3", { text: server.name }),
      h("span", { class: `badge ${server.enabled ? "badge-ok" : ""}`, i18n: server.enabled ? "mcp.enabled" : "mcp.disabled" }),
      testButton,
      h("button", { type: "button", class: "btn btn-sm", i18n: server.enabled ? "mcp.disable" : "mcp.enable", on: { click: toggle } }),
      h("button", { type: "button", class: "btn btn-sm btn-danger-text", i18n: "common.delete", on: { click: remove } })),
    h("p", { class: "small" }, h("code", { text: server.url })),
    Object.keys(server.headers || {}).length ? h("p", { class: "small muted", text: `${t("mcp.headers")}: ${Object.entries(server.headers).map(([k, v]) => `${k}: ${v}`).join("; ")}` }) : null,
    h("p", { class: "small muted", text: server.last_tested_at ? t("mcp.last_tested", { time: formatDateTime(server.last_tested_at) }) : t("mcp.never_tested") }),
    server.last_error ? h("p", { class: "small error-text", text: server.last_error }) : null,
    server.tools ? tools(server.tools) : null,
    result);
}

/** Render the MCP servers tab into `panel`. */
export function renderMcp(panel) {
  const list = h("div");
  const reload = async () => {
    mount(list, loadingBlock());
    try {
      const { mcp_servers: servers } = await api("/api/tenant/mcp-servers");
      if (!servers.length) mount(list, emptyBlock("mcp.none", "mcp.none_hint"));
      else mount(list, servers.map((s) => serverCard(s, reload)));
    } catch (err) {
      mount(list, err.status === 404 ? h("p", { class: "state state-error", i18n: "errors.api_missing" }) : errorBlock(err, reload));
    }
  };
  mount(panel, h("div", { class: "page-head" }, h("h2", { i18n: "settings.mcp" }),
    h("button", { type: "button", class: "btn btn-primary", i18n: "mcp.add", on: { click: () => addServer(reload) } })),
  h("p", { class: "muted small", i18n: "mcp.lead" }), list);
  reload();
}
