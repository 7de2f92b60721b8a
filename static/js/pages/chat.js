// Chat page: conversation list, thread, composer; answers stream in over SSE.

import { startAppPage } from "../core/layout.js";
import { ApiError, api, streamPost } from "../core/api.js";
import { $, errorBlock, errorText, h, loadingBlock, mount, toast } from "../core/dom.js";
import { confirmDialog, promptDialog } from "../core/dialog.js";
import { t } from "../core/i18n.js";
import { can } from "../core/session.js";
import { Sidebar } from "../chat/sidebar.js";
import { Thread } from "../chat/thread.js";

await startAppPage({ need: "chat:read" });

const side = $("#chat-side");
const titleEl = $("[data-chat-title]");
const actionsEl = $("[data-chat-actions]");
const composer = $("[data-composer]");
const input = composer.elements.message;
const sendButton = $("[data-send]");
const stopButton = $("[data-stop]");
const announce = $("[data-announce]");
const sideToggle = $("[data-side-toggle]");

let conversation = null;
let controller = null;

const thread = new Thread($("[data-thread]"), { send: (text) => send(text) });
const sidebar = new Sidebar(side, { onSelect: (conv) => open(conv.id, true) });

const canWrite = can("chat:write");
if (!canWrite) {
  input.disabled = true;
  input.placeholder = t("chat.read_only");
  sendButton.disabled = true;
  $("[data-new-chat]").hidden = true;
}

function setSide(open) {
  document.body.classList.toggle("side-open", open);
  sideToggle.setAttribute("aria-expanded", String(open));
}
sideToggle.addEventListener("click", () => setSide(!document.body.classList.contains("side-open")));
$("[data-side-close]").addEventListener("click", () => setSide(false));

function showHeader() {
  if (conversation) {
    titleEl.removeAttribute("data-i18n");
    titleEl.textContent = conversation.title || t("chat.untitled");
    actionsEl.hidden = !canWrite;
    $("[data-action=archive]", actionsEl).dataset.i18n = conversation.archived ? "chat.unarchive" : "chat.archive";
    $("[data-action=archive]", actionsEl).textContent = t(conversation.archived ? "chat.unarchive" : "chat.archive");
  } else {
    titleEl.dataset.i18n = "chat.new";
    titleEl.textContent = t("chat.new");
    actionsEl.hidden = true;
  }
}

function newChat(push) {
  if (controller) return;
  conversation = null;
  sidebar.select(null);
  showHeader();
  thread.showWelcome();
  if (push) history.pushState(null, "", "/chat");
  setSide(false);
  input.focus();
}

async function open(id, push) {
  if (controller) return;
  setSide(false);
  sidebar.select(id);
  mount(thread.root, loadingBlock());
  if (push) history.pushState(null, "", `/chat/${id}`);
  try {
    const data = await api(`/api/chat/conversations/${encodeURIComponent(id)}`, { query: { messages: 200 } });
    conversation = data.conversation;
    showHeader();
    thread.showMessages(data.messages, data.conversation.message_count > data.messages.length);
  } catch (err) {
    conversation = null;
    showHeader();
    mount(thread.root, err.status === 404
      ? h("div", { class: "state state-error", role: "alert" }, h("p", { i18n: "chat.not_found" }))
      : errorBlock(err, () => open(id, false)));
  }
}

function setStreaming(on) {
  stopButton.hidden = !on;
  sendButton.hidden = on;
  sendButton.disabled = on;
  composer.classList.toggle("is-streaming", on);
}

async function ensureConversation() {
  if (conversation) return conversation;
  const data = await api("/api/chat/conversations", { method: "POST", body: {} });
  conversation = data.conversation;
  history.pushState(null, "", `/chat/${conversation.id}`);
  sidebar.put(conversation);
  sidebar.select(conversation.id);
  showHeader();
  return conversation;
}

/** Send `text` as a new turn and stream the answer. */
async function send(text) {
  text = (text || "").trim();
  if (!text || controller || !canWrite) return;
  let conv;
  try {
    conv = await ensureConversation();
  } catch (err) {
    toast(errorText(err), "error");
    return;
  }
  const bubble = thread.addUser(text);
  const view = thread.startAnswer(text);
  controller = new AbortController();
  setStreaming(true);
  let failed = null;
  try {
    await streamPost(`/api/chat/conversations/${conv.id}/messages`, { message: text, stream: true }, {
      signal: controller.signal,
      onEvent(ev) {
        if (ev.type === "start") view.setModel(ev.model);
        else if (ev.type === "delta") view.append(ev.delta);
        else if (ev.type === "tool_call") view.toolCall(ev);
        else if (ev.type === "tool_result") view.toolResult(ev);
        else if (ev.type === "done") {
          view.fromMessage(ev.message);
          bubble.classList.remove("pending");
          announce.textContent = t("chat.answer_done");
        } else if (ev.type === "error") failed = new ApiError(200, ev.error);
      },
    });
    if (!failed && view.el.classList.contains("is-streaming")) failed = new ApiError(0, { code: "stream_ended" });
  } catch (err) {
    if (err.name === "AbortError") view.stopped();
    else failed = err;
  } finally {
    controller = null;
    setStreaming(false);
  }
  if (failed) {
    view.fail(failed, {
      userBubble: bubble,
      retry: () => {
        bubble.remove();
        view.el.remove();
        send(text);
      },
    });
  }
  refreshConversation(conv.id);
}

async function refreshConversation(id) {
  try {
    const data = await api(`/api/chat/conversations/${id}`, { query: { messages: 0 } });
    if (conversation && conversation.id === id) {
      conversation = data.conversation;
      showHeader();
    }
    sidebar.put(data.conversation);
    sidebar.select(conversation ? conversation.id : null);
  } catch {
    /* deleted meanwhile */
  }
}

composer.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = input.value;
  if (!text.trim()) return;
  input.value = "";
  autosize();
  send(text);
});

input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
    ev.preventDefault();
    composer.requestSubmit();
  }
});

function autosize() {
  input.rows = Math.min(8, Math.max(1, input.value.split("\n").length));
}
input.addEventListener("input", autosize);

stopButton.addEventListener("click", () => controller && controller.abort());

$("[data-new-chat]").addEventListener("click", () => newChat(true));

actionsEl.addEventListener("click", async (ev) => {
  const action = ev.target.closest("[data-action]")?.dataset.action;
  if (!action || !conversation) return;
  const id = conversation.id;
  try {
    if (action === "rename") {
      const title = await promptDialog({ title: t("chat.rename"), label: t("chat.title_label"), value: conversation.title || "" });
      if (title === null || !title) return;
      const data = await api(`/api/chat/conversations/${id}`, { method: "PATCH", body: { title } });
      conversation = data.conversation;
      sidebar.put(conversation);
    } else if (action === "archive") {
      const data = await api(`/api/chat/conversations/${id}`, { method: "PATCH", body: { archived: !conversation.archived } });
      conversation = data.conversation;
      sidebar.put(conversation);
      toast(t(conversation.archived ? "chat.archived_done" : "chat.unarchived_done"), "ok");
    } else if (action === "delete") {
      const ok = await confirmDialog({ title: t("chat.delete_title"), message: t("chat.delete_confirm"), confirmKey: "chat.delete", danger: true });
      if (!ok) return;
      await api(`/api/chat/conversations/${id}`, { method: "DELETE" });
      sidebar.remove(id);
      toast(t("chat.deleted_done"), "ok");
      newChat(true);
      return;
    }
    showHeader();
    sidebar.select(conversation.id);
  } catch (err) {
    toast(errorText(err), "error");
  }
});

window.addEventListener("popstate", () => routeFromUrl());

function routeFromUrl() {
  const match = location.pathname.match(/^\/chat\/([^/]+)$/);
  if (match) open(decodeURIComponent(match[1]), false);
  else newChat(false);
}

sidebar.reload();
routeFromUrl();
