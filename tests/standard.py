"""What the langchain-tests standard suites are told about the package's faces, said once.

langchain-tests wants one subclass of its suite per face (`ChatModelUnitTests`,
`ChatModelIntegrationTests`, `EmbeddingsUnitTests`, `EmbeddingsIntegrationTests`), naming the
face and its options in properties. A plain class attribute overrides such a property too, so
each face's subclass is a short declaration, and what several faces claim alike lives here:

    class TestChatLlamafileUnit(LocalChatFeatures, ChatModelUnitTests):
        chat_model_class = ChatLlamafile
        chat_model_params = {"base_url": "http://127.0.0.1:8080"}
"""

from __future__ import annotations


class LocalChatFeatures:
    """The claims of the chat faces on llama.cpp and gpt4all (`ChatLlamaCpp`, `ChatLlamafile`,
    `ChatGPT4All`): `bind_tools` takes `tool_choice`, there is a JSON mode, and every reply
    carries usage metadata. Put it before the langchain-tests suite among a class's bases."""

    has_tool_choice = True
    supports_json_mode = True
    returns_usage_metadata = True
