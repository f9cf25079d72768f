"""Official chat templates (reference data), as published in the models' tokenizer_config.json.

They are used to check that our families render what the models were trained on, that
detection recognises them, and that the sandbox renders real-world templates.
"""

# meta-llama/Llama-2-7b-chat-hf
LLAMA2_CHAT = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}"
    "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}"
)

# meta-llama/Meta-Llama-3-8B-Instruct
LLAMA3_INSTRUCT = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}"
)

# mistralai/Mistral-7B-Instruct-v0.2
MISTRAL_INSTRUCT = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}"
)

# google/gemma-2-2b-it (no system role: it raises on one)
GEMMA_IT = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)

# HuggingFaceH4/zephyr-7b-beta (and TinyLlama-1.1B-Chat-v1.0)
ZEPHYR = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
    "{{ '<|user|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n"
    "{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n"
    "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n"
    "{% endfor %}"
)

# microsoft/Phi-3-mini-4k-instruct
PHI3 = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)

# deepseek-ai/DeepSeek-R1-Distill-Qwen-32B, abridged: its tool-call branches are left out
DEEPSEEK_R1_DISTILL = (
    "{% if not add_generation_prompt is defined -%}\n"
    "  {%- set add_generation_prompt = false -%}\n{%- endif -%}\n"
    "{%- set ns = namespace(is_first=false, is_tool=false, is_output_first=true, "
    "system_prompt='') -%}\n"
    "{%- for message in messages -%}\n  {%- if message['role'] == 'system' -%}\n"
    "    {%- set ns.system_prompt = message['content'] -%}\n  {%- endif -%}\n"
    "{%- endfor -%}{{bos_token}}{{ns.system_prompt}}\n"
    "{%- for message in messages -%}\n  {%- if message['role'] == 'user' -%}\n"
    "    {%- set ns.is_tool = false -%}{{'<\uff5cUser\uff5c>' + message['content']}}\n"
    "  {%- endif -%}\n"
    "  {%- if message['role'] == 'assistant' and message['content'] is not none -%}\n"
    "    {%- set content = message['content'] -%}\n"
    "    {%- if '</think>' in content -%}\n"
    "      {%- set content = content.split('</think>')[-1] -%}\n"
    "    {%- endif -%}"
    "{{'<\uff5cAssistant\uff5c>' + content + '<\uff5cend\u2581of\u2581sentence\uff5c>'}}\n"
    "  {%- endif -%}\n{%- endfor -%}\n"
    "{%- if add_generation_prompt and not ns.is_tool -%}{{'<\uff5cAssistant\uff5c><think>\\n'}}\n"
    "{%- endif %}"
)

# Qwen/Qwen2.5-7B-Instruct (abridged to its message loop: tools and default system removed)
QWEN25_ABRIDGED = (
    "{%- for message in messages %}\n"
    '    {%- if (message.role == "user") or (message.role == "system") %}\n'
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + "
    "'\\n' }}\n"
    '    {%- elif message.role == "assistant" %}\n'
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}\n"
    "    {%- endif %}\n{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n"
)

# The shape of openai/gpt-oss-20b's template, written for these tests (its tool, builtin-tool
# and training branches left out): a dated system message, the first system message as the
# developer's instructions, earlier answers on the final channel.
GPT_OSS_ABRIDGED = (
    "{{- '<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI."
    "\\nKnowledge cutoff: 2024-06\\nCurrent date: ' + strftime_now('%Y-%m-%d') + '\\n\\n' }}\n"
    "{{- 'Reasoning: ' + (reasoning_effort if reasoning_effort is defined else 'medium') }}\n"
    "{{- '\\n\\n# Valid channels: analysis, commentary, final. Channel must be included for "
    "every message.<|end|>' }}\n"
    "{%- if messages[0].role == 'system' %}\n"
    "    {{- '<|start|>developer<|message|># Instructions\\n\\n' + messages[0].content }}\n"
    "    {{- '\\n\\n<|end|>' }}\n"
    "    {%- set rest = messages[1:] %}\n{%- else %}\n    {%- set rest = messages %}\n"
    "{%- endif %}\n"
    "{%- for message in rest %}\n"
    "    {%- if message.role == 'assistant' %}\n"
    "        {%- if '<|channel|>' in message.content %}\n"
    "            {{- raise_exception('Pass thoughts in the thinking field.') }}\n"
    "        {%- endif %}\n"
    "        {{- '<|start|>assistant<|channel|>final<|message|>' + message.content + '<|end|>' }}\n"
    "    {%- elif message.role == 'user' %}\n"
    "        {{- '<|start|>user<|message|>' + message.content + '<|end|>' }}\n"
    "    {%- endif %}\n{%- endfor %}\n"
    "{%- if add_generation_prompt %}<|start|>assistant{% endif %}"
)
