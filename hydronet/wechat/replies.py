"""What the assistant says on WeChat: fixed replies, commands it understands, and answers cut into messages."""

from __future__ import annotations

import re

from hydronet.kernel.errors import QuotaExceeded
from hydronet.models import Tenant
from hydronet.wechat.plaintext import PASSIVE_REPLY_LIMIT, markdown_to_text, split_utf8, utf8_len

HINT_RESERVE = 256  # bytes kept free in every part for the hints and notes appended to it
MAX_PARTS = 6  # longer answers are cut: pushes count against WeChat's per-user limit (45047)
_MARKER_RESERVE = 16  # "(i/n)\n"

WELCOME = (
    "您好，欢迎关注！我是 HydroNet 水网智能助手，可以帮您：\n"
    "• 解答给水管网、水力计算、水质与漏损等问题\n"
    "• 分析您在 HydroNet 上传的 EPANET 管网模型（压力、流量、水质、消防流量等）\n\n"
    "直接发送文字或语音即可提问。\n\n"
    "已有 HydroNet 账号？登录网页端，在“微信绑定”中获取 6 位绑定码，然后在这里发送“绑定 123456”"
    "（换成您的绑定码），微信里的对话就会出现在您的网页端对话列表中。"
)
UNSUPPORTED = "暂时只能处理文字和语音消息，请用文字描述您的问题。"
ERROR = "抱歉，处理您的消息时出了点问题，请稍后再试。"
MODEL_ERROR = "抱歉，AI 助手暂时无法回答，请稍后再试。"
TOO_LONG = "消息太长了，请分几次发送。"
RATE_LIMITED = "您发送得太快了，请稍等一分钟再试。"
SUSPENDED = "该组织的 HydroNet 服务已暂停，请联系管理员。"
ACCOUNT_DISABLED = "您的 HydroNet 账号已停用，请联系管理员。"
EMPTY_ANSWER = "（助手没有给出文字回答，请换个问法再试。）"
TRUNCATED = "……\n（内容较长，完整答案请登录 HydroNet 网页端查看。）"
MORE = "\n\n（未完，回复任意内容查看下一段）"
BIND_REPLIES = {
    "bound": "绑定成功！您已绑定 HydroNet 账号 {email}，微信里的对话可以在网页端查看。",
    "already_bound": "您已绑定 HydroNet 账号 {email}，无需重复绑定。",
    "invalid": "绑定码无效或已过期。请在 HydroNet 网页端重新获取绑定码（10 分钟内有效）。",
    "throttled": "尝试次数过多，请一小时后再试。",
}
_BIND = re.compile(r"^(?:(?:绑定|bind)\s*[:：]?\s*)?(\d{6})$", re.I)
_CONTINUE = {"1", "继续", "下一段", "下一页", "更多", "还有吗", "next", "more", "n", "ok", "好", "好的", "嗯"}


def welcome(tenant: Tenant) -> str:
    """The subscribe greeting: the tenant's own (setting `wechat_welcome`) or the default."""
    custom = (tenant.settings or {}).get("wechat_welcome")
    return custom.strip() if isinstance(custom, str) and custom.strip() else WELCOME


def bind_code_in(text: str) -> str | None:
    """The code of a binding command: "绑定 123456", "bind 123456" or just "123456"."""
    m = _BIND.match(text.strip())
    return m.group(1) if m else None


def bind_reply(outcome: str, email: str | None) -> str:
    """The answer to a binding attempt."""
    return BIND_REPLIES[outcome].format(email=email or "")


def is_continue(text: str) -> bool:
    """True when the message only asks for the rest of an answer."""
    word = re.sub(r"[\s。.!！?？~～]+", "", text).lower()
    return len(word) <= 1 or word in _CONTINUE


def quota_reply(err: QuotaExceeded) -> str:
    """A polite explanation of an exhausted quota."""
    quota = err.extra.get("quota")
    if quota == "messages_per_day":
        return "今天的提问次数已用完，请明天再来，或联系管理员升级套餐。"
    if quota == "tokens_per_month":
        return "本月的 AI 用量已用完，请联系管理员升级套餐。"
    if quota == "conversations":
        return "对话数量已达到套餐上限，请联系管理员清理对话或升级套餐。"
    return "已达到套餐的使用上限，请联系管理员。"


def new_question_hint(can_push: bool) -> str:
    """Appended when a pending part is delivered while a new question starts in the background."""
    if can_push:
        return "\n\n（您的新问题已收到，答案准备好后会自动发给您。）"
    return "\n\n（您的新问题已收到，正在思考，稍后回复任意内容获取答案。）"


def compose_parts(markdown: str) -> list[str]:
    """An answer as plain-text messages: ≤ MAX_PARTS, each with room for a hint within 2048 bytes."""
    text = markdown_to_text(markdown or "") or EMPTY_ANSWER
    limit = PASSIVE_REPLY_LIMIT - HINT_RESERVE
    pieces = split_utf8(text, limit - _MARKER_RESERVE)
    if len(pieces) > MAX_PARTS:
        pieces = pieces[:MAX_PARTS]
        pieces[-1] += TRUNCATED
    if len(pieces) == 1:
        return pieces
    return [f"({i}/{len(pieces)})\n{p}" for i, p in enumerate(pieces, 1)]


def with_hint(part: str, hint: str) -> str:
    """A part with a hint appended (the reserve guarantees it fits)."""
    joined = part + hint
    return joined if utf8_len(joined) <= PASSIVE_REPLY_LIMIT else part
