// Tabs (ARIA tablist) whose selection follows the URL hash (#users, #keys…).

import { h } from "./dom.js";

/**
 * `tabs`: [{id, key (i18n), render(panel)}].  Each panel renders on first show;
 * `render` may return a promise.  Returns {show(id)}.
 */
export function createTabs(root, tabs) {
  const list = h("div", { class: "tabs", role: "tablist" });
  const panels = h("div", { class: "tab-panels" });
  const rendered = new Set();
  const buttons = new Map();
  const panelOf = new Map();
  for (const tab of tabs) {
    const button = h("button", { type: "button", role: "tab", id: `tab-${tab.id}`, "aria-controls": `panel-${tab.id}`,
      "aria-selected": "false", tabindex: "-1", i18n: tab.key, "data-testid": `tab-${tab.id}`, on: { click: () => show(tab.id, true) } });
    const panel = h("div", { role: "tabpanel", id: `panel-${tab.id}`, "aria-labelledby": `tab-${tab.id}`, hidden: true });
    buttons.set(tab.id, button);
    panelOf.set(tab.id, panel);
    list.append(button);
    panels.append(panel);
  }
  list.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
    const ids = tabs.map((tab) => tab.id);
    const index = ids.indexOf(document.activeElement.id.replace(/^tab-/, ""));
    const next = ids[(index + (ev.key === "ArrowRight" ? 1 : ids.length - 1)) % ids.length];
    show(next, true);
    buttons.get(next).focus();
  });
  root.replaceChildren(list, panels);

  function show(id, push) {
    const tab = tabs.find((x) => x.id === id) || tabs[0];
    for (const [key, button] of buttons) {
      const on = key === tab.id;
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      panelOf.get(key).hidden = !on;
    }
    if (push) history.replaceState(null, "", `#${tab.id}`);
    if (!rendered.has(tab.id)) {
      rendered.add(tab.id);
      tab.render(panelOf.get(tab.id));
    }
  }

  window.addEventListener("hashchange", () => show(location.hash.slice(1), false));
  show(location.hash.slice(1), false);
  return { show };
}
