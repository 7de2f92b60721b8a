// Platform administration: overview, tenants, users, audit log.

import { startAppPage } from "../core/layout.js";
import { $ } from "../core/dom.js";
import { createTabs } from "../core/tabs.js";
import { renderOverview } from "../admin/overview.js";
import { renderTenants } from "../admin/tenants.js";
import { renderAdminUsers } from "../admin/users.js";
import { renderAuditLog } from "../admin/auditlog.js";

await startAppPage({ need: "platform" });

createTabs($("[data-tabs]"), [
  { id: "overview", key: "admin.overview", render: renderOverview },
  { id: "tenants", key: "admin.tenants", render: renderTenants },
  { id: "users", key: "admin.users_title", render: renderAdminUsers },
  { id: "audit", key: "settings.audit", render: (panel) => renderAuditLog(panel, { endpoint: "/api/admin/audit-logs", platform: true }) },
]);
