// The conversation list: search, active/archived filter, paging, selection.

import { api } from "../core/api.js";
import { $, $$, emptyBlock, errorBlock, formatDate, h, loadingBlock, mount } from "../core/dom.js";
import { t } from "../core/i18n.js";

const PAGE = 30;

export class Sidebar {
  /** `onSelect(conversation)` is called when the user picks a conversation. */
  constructor(root, { onSelect }) {
    this.root = root;
    this.list = $("[data-conv-list]", root);
    this.state = $("[data-conv-state]", root);
    this.more = $("[data-conv-more]", root);
    this.search = $("[data-search]", root);
    this.onSelect = onSelect;
    this.archived = "false";
    this.cursor = null;
    this.selectedId = null;
    this.items = new Map();
    let timer = null;
    this.search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.reload(), 250);
    });
    $$("[data-filter]", root).forEach((button) => button.addEventListener("click", () => {
      this.archived = button.dataset.filter;
      $$("[data-filter]", root).forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      this.reload();
    }));
    this.more.addEventListener("click", () => this.load(false));
  }

  reload() {
    return this.load(true);
  }

  async load(reset) {
    if (reset) {
      this.cursor = null;
      this.items.clear();
      this.list.replaceChildren();
      mount(this.state, loadingBlock());
    }
    this.more.hidden = true;
    try {
      const data = await api("/api/chat/conversations", {
        query: { limit: PAGE, cursor: this.cursor, archived: this.archived, q: this.search.value.trim() },
      });
      for (const conv of data.conversations) this.put(conv, false);
      this.cursor = data.next_cursor;
      this.more.hidden = !this.cursor;
      if (this.items.size) this.state.replaceChildren();
      else if (this.search.value.trim()) mount(this.state, emptyBlock("chat.no_match"));
      else mount(this.state, emptyBlock(this.archived === "true" ? "chat.no_archived" : "chat.no_conversations",
        this.archived === "true" ? null : "chat.no_conversations_hint"));
    } catch (err) {
      mount(this.state, errorBlock(err, () => this.load(reset)));
    }
  }

  /** Add or update a conversation's entry (at the top when `first`). */
  put(conv, first = true) {
    const shown = String(conv.archived) === this.archived;
    const old = this.items.get(conv.id);
    if (!shown) {
      if (old) old.remove();
      this.items.delete(conv.id);
      return;
    }
    const item = h("li", { class: ["conv-item", conv.id === this.selectedId && "selected"], dataset: { id: conv.id } },
      h("button", { type: "button", class: "conv-link", "aria-current": conv.id === this.selectedId ? "true" : null,
        on: { click: () => this.onSelect(conv) } },
      h("span", { class: "conv-title", text: conv.title || t("chat.untitled") }),
      h("span", { class: "conv-meta muted", text: formatDate(conv.updated_at) })));
    if (old) old.replaceWith(item);
    else if (first) this.list.prepend(item);
    else this.list.append(item);
    if (first && old) this.list.prepend(item);
    this.items.set(conv.id, item);
    this.state.replaceChildren();
  }

  remove(id) {
    const item = this.items.get(id);
    if (item) item.remove();
    this.items.delete(id);
    if (!this.items.size) mount(this.state, emptyBlock("chat.no_conversations"));
  }

  select(id) {
    this.selectedId = id;
    for (const [key, item] of this.items) {
      item.classList.toggle("selected", key === id);
      const link = item.querySelector(".conv-link");
      if (key === id) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
  }
}
