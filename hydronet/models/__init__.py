"""All models, imported here so Alembic and the app see every table."""
from .apikey import ApiKey
from .audit import AuditAnchor, AuditLog
from .base import Base, TenantOwnedMixin, utcnow, uuid7
from .chat import Conversation, Message
from .integrations import McpServer, WechatAccount, WechatBindCode, WechatFollower
from .network import AnalysisJob, Network
from .tenant import PLANS, ROLES, TENANT_STATUSES, Tenant, User
from .usage import UsageDaily, UsageRecord

__all__ = [
    "AnalysisJob", "ApiKey", "AuditAnchor", "AuditLog", "Base", "Conversation", "McpServer", "Message", "Network",
    "PLANS", "ROLES", "TENANT_STATUSES", "Tenant", "TenantOwnedMixin", "UsageDaily", "UsageRecord",
    "User", "WechatAccount", "WechatBindCode", "WechatFollower", "utcnow", "uuid7",
]
