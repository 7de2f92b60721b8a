// The message thread: stored messages, the answer streaming in, error cards.

import { copyText, errorText, formatDateTime, h, toast } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { renderMarkdown } from "../core/markdown.js";
import { ToolCard } from "./toolcard.js";

const SUGGESTIONS = ["chat.suggest_analyse", "chat.suggest_list", "chat.suggest_age"];

export class Thread {
  /** `actions`: {retry(text), send(text)} supplied by the page. */
  constructor(root, actions) {
    this.root = root;
    this.actions = actions;
  }

  nearBottom() {
    return this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 120;
  }

  scroll(force = false) {
    if (force || this.stick) this.root.scrollTop = this.root.scrollHeight;
  }

  /** The welcome screen of a new conversation, with example questions. */
  showWelcome() {
    this.root.replaceChildren(h("div", { class: "welcome" },
      h("h2", { i18n: "chat.welcome_title" }),
      h("p", { class: "muted", i18n: "chat.welcome_lead" }),
      h("div", { class: "suggestions" }, SUGGESTIONS.map((key) => h("button", {
        type: "button", class: "suggestion", i18n: key, on: { click: () => this.actions.send(t(key)) },
      })))));
  }

  showMessages(messages, truncated) {
    this.root.replaceChildren();
    if (truncated) this.root.append(h("p", { class: "muted center small", i18n: "chat.older_hidden" }));
    if (!messages.length) {
      this.showWelcome();
      return;
    }
    let lastUser = "";
    for (const message of messages) {
      if (message.role === "user") {
        lastUser = message.content;
        this.root.append(userBubble(message.content, message.created_at));
      } else if (message.role === "assistant") {
        const view = new AnswerView(this, lastUser);
        view.fromMessage(message);
        this.root.append(view.el);
      }
    }
    this.scroll(true);
  }

  /** A user message not yet confirmed by the server. */
  addUser(text) {
    if (this.root.querySelector(".welcome")) this.root.replaceChildren();
    const bubble = userBubble(text);
    bubble.classList.add("pending");
    this.root.append(bubble);
    this.stick = true;
    this.scroll(true);
    return bubble;
  }

  /** A new assistant answer that will stream in. */
  startAnswer(question) {
    const view = new AnswerView(this, question);
    view.streaming();
    this.root.append(view.el);
    this.scroll(true);
    return view;
  }
}

function userBubble(text, createdAt) {
  return h("div", { class: "msg msg-user", "data-testid": "user-message" },
    h("div", { class: "bubble", text }),
    createdAt ? h("time", { class: "msg-time muted", datetime: createdAt, text: formatDateTime(createdAt) }) : null);
}

/** One assistant answer: badges, tool cards, Markdown body, actions. */
export class AnswerView {
  constructor(thread, question) {
    this.thread = thread;
    this.question = question;
    this.content = "";
    this.cards = new Map();
    this.badges = h("div", { class: "msg-badges" });
    this.tools = h("div", { class: "tools" });
    this.body = h("div", { class: "md", "data-testid": "answer-body" });
    this.footer = h("div", { class: "msg-actions" });
    this.el = h("article", { class: "msg msg-assistant", "data-testid": "assistant-message" },
      this.badges, this.tools, this.body, this.footer);
    this.pending = false;
  }

  streaming() {
    this.el.setAttribute("aria-busy", "true");
    this.el.classList.add("is-streaming");
    this.body.append(h("span", { class: "typing", "aria-hidden": "true" }, h("i"), h("i"), h("i")));
  }

  setModel(model) {
    if (model === "offline") this.badge("chat.badge_offline", "badge-offline");
    else if (model) this.badges.append(h("span", { class: "badge", text: model }));
  }

  badge(key, cls) {
    if (this.badges.querySelector(`.${cls}`)) return;
    this.badges.append(h("span", { class: `badge ${cls}`, i18n: key, "data-testid": cls }));
  }

  append(delta) {
    this.content += delta;
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.renderBody(true);
    });
  }

  renderBody(withCursor) {
    this.body.replaceChildren(renderMarkdown(this.content));
    if (withCursor) {
      // The cursor goes at the end of the last line of text, not on a line of its own.
      let host = this.body;
      while (host.lastElementChild && /^(P|UL|OL|LI|H[1-6]|BLOCKQUOTE)$/.test(host.lastElementChild.tagName)) {
        host = host.lastElementChild;
      }
      host.append(h("span", { class: "cursor", "aria-hidden": "true" }));
    }
    this.thread.scroll();
  }

  toolCall(call) {
    const card = new ToolCard(call);
    this.cards.set(call.id, card);
    this.tools.append(card.el);
    this.thread.scroll();
  }

  toolResult(result) {
    let card = this.cards.get(result.id);
    if (!card) {
      this.toolCall(result);
      card = this.cards.get(result.id);
    }
    card.setResult(result);
  }

  /** Show a stored (or just finished) message: its final tool results replace the streamed ones. */
  fromMessage(message) {
    this.content = message.content || "";
    this.message = message;
    this.el.removeAttribute("aria-busy");
    this.el.classList.remove("is-streaming");
    if (message.offline || message.model === "offline") this.badge("chat.badge_offline", "badge-offline");
    else if (message.model && !this.badges.childElementCount) this.badges.append(h("span", { class: "badge", text: message.model }));
    if (message.interrupted) this.badge("chat.badge_interrupted", "badge-interrupted");
    this.tools.replaceChildren();
    this.cards.clear();
    for (const call of message.tool_calls || []) {
      this.toolCall(call);
      this.cards.get(call.id).setResult(call);
    }
    if (this.content) this.renderBody(false);
    else this.body.replaceChildren(h("p", { class: "muted", i18n: "chat.empty_answer" }));
    this.renderActions();
  }

  renderActions() {
    this.footer.replaceChildren(
      h("button", { type: "button", class: "btn btn-ghost btn-sm", i18n: "common.copy", on: {
        click: async () => {
          await copyText(this.content);
          toast(t("common.copied"), "ok");
        },
      } }),
      this.question ? h("button", { type: "button", class: "btn btn-ghost btn-sm", i18n: "chat.regenerate",
        on: { click: () => this.thread.actions.send(this.question) } }) : null,
      this.message && this.message.created_at ? h("time", { class: "msg-time muted", datetime: this.message.created_at,
        text: formatDateTime(this.message.created_at) }) : null);
  }

  /** The user pressed Stop: keep what arrived, marked as interrupted. */
  stopped() {
    this.el.removeAttribute("aria-busy");
    this.el.classList.remove("is-streaming");
    this.badge("chat.badge_interrupted", "badge-interrupted");
    if (this.content) this.renderBody(false);
    else this.body.replaceChildren(h("p", { class: "muted", i18n: "chat.stopped_empty" }));
    this.renderActions();
  }

  /** The turn failed: an error card explaining why, with Retry. */
  fail(err, { userBubble, retry }) {
    this.el.removeAttribute("aria-busy");
    this.el.classList.remove("is-streaming");
    this.el.classList.add("msg-failed");
    if (this.content) this.renderBody(false);
    else this.body.replaceChildren();
    const code = err.code || "unknown";
    const details = err.details || {};
    const card = h("div", { class: `error-card error-${code}`, role: "alert", "data-testid": "chat-error", dataset: { code } },
      h("strong", { i18n: `chat.error_title_${["quota_exceeded", "llm_busy", "llm_unavailable", "rate_limited"].includes(code) ? code : "generic"}` }),
      h("p", { text: errorText(err) }));
    if (code === "quota_exceeded") {
      card.append(h("p", { class: "small" }, h("a", { href: "/usage", i18n: "chat.see_usage" })));
      if (details.quota) card.dataset.quota = details.quota;
    } else {
      card.append(h("button", { type: "button", class: "btn btn-sm", i18n: "common.retry", on: { click: () => retry() } }));
    }
    this.body.append(card);
    if (userBubble) userBubble.classList.add("not-sent");
    this.thread.scroll(true);
  }
}
