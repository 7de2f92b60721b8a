"""The schema: every table of the app, one module per aggregate, imported here so Alembic sees them all.

The audit trail's tables live with it in kernel/audit.py.
"""

from hydronet.kernel.audit import AuditAnchor, AuditLog
from hydronet.models.apikey import ApiKey
from hydronet.models.chat import Conversation, Message
from hydronet.models.integrations import McpServer, WechatAccount, WechatBindCode, WechatFollower
from hydronet.models.network import AnalysisDefaults, AnalysisJob, Network
from hydronet.models.tenant import PLANS, ROLES, TENANT_STATUSES, Tenant, User
from hydronet.models.usage import UsageDaily, UsageRecord

__all__ = [
    "AnalysisDefaults",
    "AnalysisJob",
    "ApiKey",
    "AuditAnchor",
    "AuditLog",
    "Conversation",
    "McpServer",
    "Message",
    "Network",
    "PLANS",
    "ROLES",
    "TENANT_STATUSES",
    "Tenant",
    "UsageDaily",
    "UsageRecord",
    "User",
    "WechatAccount",
    "WechatBindCode",
    "WechatFollower",
]
