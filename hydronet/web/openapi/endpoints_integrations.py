"""Registry of the integration endpoints: MCP servers, WeChat settings and the WeChat callbacks."""
from __future__ import annotations

from hydronet.web.openapi.ops import Op, q
from hydronet.web.openapi.schemas import BOOL, INT, NUM, STR, TIMESTAMP, array, envelope, nullable, obj, ref, string
from hydronet.wechat.accounts import DELIVER_MODES

SERVER = envelope({"mcp_server": ref("McpServer")})
SERVER_FIELDS = {
    "name": string(64, min_len=1),
    "url": string(1000, format="uri", pattern="^https?://", description="the server's streamable-HTTP URL"),
    "headers": nullable({"type": "object", "additionalProperties": nullable(STR),
                         "description": "sent on every call; null removes a header, the masked value keeps it"}),
    "enabled": BOOL, "allowed_tools": nullable(array(STR, maxItems=500)),
    "timeout_s": {**NUM, "description": "seconds"},
}
WECHAT = envelope({"wechat": ref("WechatConfig")})
SIGNED_QUERY = (
    q("signature", STR, "sha1 of the sorted token, timestamp and nonce"),
    q("timestamp", STR), q("nonce", STR),
    q("encrypt_type", {"type": "string", "enum": ["raw", "aes"]}, "aes in safe mode"),
    q("msg_signature", STR, "signature over the encrypted body (safe mode)"),
)
PLAIN = {"type": "string"}
CALLBACK_NOTE = ("Signature-authenticated by WeChat (no bearer token). Answers are plain text (`success`, "
                 "`forbidden`) or an XML passive reply, never the JSON error shape — except 404 when no account "
                 "is configured here.")
ECHOSTR = q("echostr", STR, "echoed back when the signature is right")
VERIFY = Op(ok={200: PLAIN}, ok_media="text/plain", query=(*SIGNED_QUERY, ECHOSTR),
            errors=(403, 404), text_errors=(403,), description=CALLBACK_NOTE)
RECEIVE = Op(ok={200: PLAIN}, ok_media="text/plain", query=SIGNED_QUERY, errors=(403, 404, 413), text_errors=(403, 413),
             description=CALLBACK_NOTE,
             body_media={"application/xml": PLAIN, "text/xml": PLAIN}, also={200: {"application/xml": PLAIN}})

INTEGRATIONS: dict[str, Op] = {
    "mcp_admin.list_servers": Op(ok={200: envelope({"mcp_servers": array(ref("McpServer"))})}),
    "mcp_admin.create_server": Op(ok={201: SERVER}, body=obj(SERVER_FIELDS, ["name", "url"]), errors=(409,)),
    "mcp_admin.get_server": Op(ok={200: SERVER}),
    "mcp_admin.update_server": Op(ok={200: SERVER}, body=obj(SERVER_FIELDS), errors=(409,)),
    "mcp_admin.delete_server": Op(ok={200: envelope({"deleted": {"const": True}})}),
    "mcp_admin.test_server": Op(
        ok={200: envelope({"mcp_server": ref("McpServer"), "tools": array(ref("McpTool"))})},
        errors=(409, 502, 504),
        description="Failures name how the connection failed: mcp_url_not_allowed (422), mcp_unreachable, "
                    "mcp_tls_error, mcp_auth_refused, mcp_not_mcp_server, mcp_server_error (502), mcp_timeout (504).",
    ),
    "wechat_admin.get_account": Op(ok={200: WECHAT}),
    "wechat_admin.put_account": Op(
        ok={200: WECHAT, 201: WECHAT},
        body=obj({"token": string(32, pattern="^[0-9A-Za-z]{3,32}$", description="as set in the WeChat console"),
                  "app_id": string(64, pattern="^wx[0-9A-Za-z]{8,30}$"), "app_secret": string(128),
                  "aes_key": nullable(string(64, description="EncodingAESKey (43 characters); null/'' removes it")),
                  "verified": BOOL, "deliver_mode": {"type": "string", "enum": list(DELIVER_MODES)},
                  "enabled": BOOL}),
    ),
    "wechat_admin.delete_account": Op(ok={200: envelope({"deleted": {"const": True}})}, errors=(404,)),
    "wechat_admin.list_followers": Op(ok={200: envelope({"followers": array(ref("WechatFollower"))})}),
    "wechat_admin.bind_code": Op(
        ok={201: envelope({"code": STR, "expires_at": nullable(TIMESTAMP), "expires_in_s": INT,
                           "send": string(description="the text to send to the official account")})},
        errors=(429,),
    ),
    "wechat.verify_env": VERIFY,
    "wechat.receive_env": RECEIVE,
    "wechat.verify_tenant": VERIFY,
    "wechat.receive_tenant": RECEIVE,
}
