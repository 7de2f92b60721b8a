// Settings: account, organisation, analysis defaults, users, API keys, MCP servers, WeChat, audit log (by permission).

import { startAppPage } from "../core/layout.js";
import { $ } from "../core/dom.js";
import { createTabs } from "../core/tabs.js";
import { can, current } from "../core/session.js";
import { renderAccount, renderOrganisation } from "../settings/account.js";
import { renderUsers } from "../settings/users.js";
import { renderApiKeys } from "../settings/apikeys.js";
import { renderMcp } from "../settings/mcp.js";
import { renderWechat } from "../settings/wechat.js";
import { renderDefaults } from "../settings/defaults.js";
import { renderAuditLog } from "../admin/auditlog.js";

await startAppPage();

const mustChange = current().user.password_change_required;
const tabs = mustChange ? [{ id: "account", key: "settings.account", render: renderAccount }] : [
  { id: "account", key: "settings.account", render: renderAccount },
  can("tenant:update") && { id: "organisation", key: "settings.organisation", render: renderOrganisation },
  can("tenant:read") && { id: "analysis", key: "settings.analysis", render: renderDefaults },
  can("users:read") && { id: "users", key: "settings.users", render: renderUsers },
  can("apikeys:manage") && { id: "keys", key: "settings.keys", render: renderApiKeys },
  can("integrations:manage") && { id: "mcp", key: "settings.mcp", render: renderMcp },
  (can("chat:write") || can("integrations:manage")) && { id: "wechat", key: "settings.wechat", render: renderWechat },
  can("audit:read") && { id: "audit", key: "settings.audit", render: (panel) => renderAuditLog(panel, { endpoint: "/api/tenant/audit-logs" }) },
].filter(Boolean);

createTabs($("[data-tabs]"), tabs);
