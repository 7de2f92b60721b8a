"""The assistant's model layer; import from the submodules.

``base`` (provider protocol, TextDelta/Completion), ``errors`` (LLM errors),
``qwen`` (QwenProvider), ``offline`` (OfflineProvider), ``loop`` (run_turn,
TurnState), ``context`` (SYSTEM_PROMPT, build_messages), ``tokens``
(count_tokens), ``tools`` (Tool, ToolRegistry).  Kept empty so that importing
``hydronet.llm.tools`` does not load the dashscope SDK.
"""
