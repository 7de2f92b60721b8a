"""Contracts of /api/chat: conversations, messages and a chat turn (JSON or server-sent events)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, WithJsonSchema

from hydronet.chat.conversations import TITLE_MAX
from hydronet.kernel.contracts import (
    JSON,
    Answer,
    AsSent,
    Body,
    Id,
    Object,
    Query,
    QueryInt,
    QueryText,
    Resource,
    Text,
    When,
)

Cursor = Annotated[str | None, Field(description="opaque cursor from the previous page's next_cursor")]


# --- resources ---------------------------------------------------------------------------------------


class Conversation(Resource):
    id: Id
    title: str | None
    archived: bool
    channel: str
    message_count: int
    created_at: When | None
    updated_at: When | None


class Message(Resource):
    id: Id
    conversation_id: Id
    role: str
    content: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    tool_calls: list[Object]
    interrupted: bool
    offline: bool
    metadata: Object
    created_at: When | None


class ChatEvent(Resource):
    """One server-sent event (data: JSON) of a streamed chat turn."""

    type: str = Field(description="start, delta, tool_call, tool_result, done or error")


class ServerSentEvent(Resource):
    """One server-sent event: start, text deltas, tool calls and results, then done (with the stored messages)
    or error; `: heartbeat` comments keep the connection open while the model is quiet."""

    data: str = Field(
        description="a ChatEvent as JSON",
        json_schema_extra={"contentMediaType": JSON, "contentSchema": {"$ref": "#/components/schemas/ChatEvent"}},
    )
    event: str | None = None
    id: str | None = None
    retry: int | None = None


# --- requests ----------------------------------------------------------------------------------------


class NewConversationBody(Body):
    title: Annotated[str, Text(TITLE_MAX)] | None = None


class ConversationChangeBody(Body):
    title: Annotated[str, Text(TITLE_MAX)] | None = None
    archived: bool | None = None


class SendMessageBody(Body):
    # Read as sent: turns.validate_text checks the text (also for WeChat), after the conversation is found.
    model_config = ConfigDict(json_schema_extra={"required": ["message"]})

    message: Annotated[
        Any,
        AsSent(
            {"type": "string", "minLength": 1, "description": "the user's message (CHAT_MAX_MESSAGE_CHARS at most)"}
        ),
    ] = None
    stream: Annotated[Any, AsSent({"type": "boolean", "description": "answer as server-sent events"})] = None


class ConversationsQuery(Query):
    limit: Annotated[int, QueryInt(1, 100, "page size")] = 20
    cursor: Cursor = None
    archived: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "enum": ["false", "true", "all"]}),
        Field(description="default: not archived"),
    ] = None
    q: Annotated[str | None, QueryText(100, "search in titles")] = None


class ConversationQuery(Query):
    messages: Annotated[int, QueryInt(0, 200, "how many of the latest messages to include")] = 50


class MessagesQuery(Query):
    limit: Annotated[int, QueryInt(1, 200, "page size")] = 50
    cursor: Cursor = None


# --- answers -----------------------------------------------------------------------------------------


class ConversationAnswer(Answer):
    conversation: Conversation


class ConversationList(Answer):
    conversations: list[Conversation]
    next_cursor: str | None


class ConversationWithMessages(Answer):
    conversation: Conversation
    messages: list[Message]


class MessagePage(Answer):
    messages: list[Message]
    next_cursor: str | None


class Turn(Answer):
    message: Message
    reply: Message
    usage: Object = Field(description="Token counts of one chat turn")
    conversation: Conversation


SEND_MESSAGE_NOTE = (
    'With `"stream": true` or `Accept: text/event-stream` the answer is an SSE stream; 429 `quota_exceeded` '
    "when a plan quota is used up (nothing is stored); 404 `conversation_deleted` (the SSE `error` event's code "
    "too) when the conversation was deleted while the model answered (the answer is not kept, its usage is); "
    "503 `store_unavailable` or `database_unavailable` with Retry-After. A stored turn is always acknowledged "
    "(200, or `done`)."
)
