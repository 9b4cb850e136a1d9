#!/usr/bin/env python3
"""Write tests/fixtures/tokenizer/r1/tokenizer_config.json: DeepSeek-R1's
chat_template with V3's other fields (R1 shares V3's tokenizer.json, except
that ids 128798/128799 are named <think>/</think>).

Source of the template text: DeepSeek-R1's tokenizer_config.json on Hugging
Face (deepseek-ai/DeepSeek-R1), as quoted verbatim in public repositories,
e.g. ShishirPatil/gorilla, file
berkeley-function-call-leaderboard/bfcl/model_handler/local_inference/deepseek_reasoning.py
(docstring of _format_prompt), and MindSpore's DeepSeek-R1 test scripts.
In the JSON file the newlines inside the template's string literals are
written as \\n escapes, so the decoded template holds real newline characters,
exactly as V3's does.
"""
import json, os
NL = '\n'
T = ("{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
"{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}"
"{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}"
"{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}"
"{% set ns.system_prompt = ns.system_prompt + '" + NL + NL + "' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}"
"{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}"
"{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}"
"{%- if message['role'] == 'assistant' and 'tool_calls' in message %}{%- set ns.is_tool = false -%}"
"{%- for tool in message['tool_calls'] %}{%- if not ns.is_first %}{%- if message['content'] is none %}"
"{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '" + NL + "' + '```json' + '" + NL + "' + tool['function']['arguments'] + '" + NL + "' + '```' + '<｜tool▁call▁end｜>'}}"
"{%- else %}"
"{{'<｜Assistant｜>' + message['content'] + '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '" + NL + "' + '```json' + '" + NL + "' + tool['function']['arguments'] + '" + NL + "' + '```' + '<｜tool▁call▁end｜>'}}"
"{%- endif %}{%- set ns.is_first = true -%}{%- else %}"
"{{'" + NL + "' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '" + NL + "' + '```json' + '" + NL + "' + tool['function']['arguments'] + '" + NL + "' + '```' + '<｜tool▁call▁end｜>'}}"
"{%- endif %}{%- endfor %}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}"
"{%- if message['role'] == 'assistant' and 'tool_calls' not in message %}{%- if ns.is_tool %}"
"{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}{%- else %}"
"{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
"{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}"
"{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}"
"{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- set ns.is_output_first = false %}"
"{%- else %}{{'<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}{%- endfor -%}"
"{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>" + NL + "'}}{% endif %}")
here = os.path.dirname(os.path.abspath(__file__))
v3 = json.load(open(os.path.join(here, '..', '..', '..', 'share', 'deepseek-v3', 'tokenizer_config.json')))
v3['chat_template'] = T
out = os.path.join(here, '..', '..', 'fixtures', 'tokenizer', 'r1')
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
    json.dump(v3, f, ensure_ascii=False, indent=2)
    f.write('\n')
