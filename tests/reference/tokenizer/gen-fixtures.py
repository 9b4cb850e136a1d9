#!/usr/bin/env python3
"""Generate the tokenizer fixtures from Hugging Face `tokenizers` and
`transformers` (the reference), and check ../shared/tokenizer/cases.jsonl
against the same reference.

Writes, next to this script:
  edge-cases.jsonl   {"text", "ids"}   regex edges, added tokens, fuzz (no BOS)
  lossy.jsonl        {"hex", "ids"}    invalid UTF-8 bytes -> ids of
                                       bytes.decode("utf-8", errors="replace")
  chat-cases.jsonl   {"name", "template", "generation_prompt", "messages",
                      "text", "ids"} or {..., "error": true} where Jinja raises
and prints every case of cases.jsonl on which the reference disagrees.
Run: /tmp/refvenv/bin/python tests/reference/tokenizer/gen-fixtures.py
"""
import json, os, random, sys
from tokenizers import Tokenizer

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, '..', '..', '..'))
share = os.path.join(root, 'share', 'deepseek-v3')
tok = Tokenizer.from_file(os.path.join(share, 'tokenizer.json'))

def enc(text):
    return tok.encode(text, add_special_tokens=False).ids

# ---- cases.jsonl agreement ----
cases = os.path.join(root, '..', 'shared', 'tokenizer', 'cases.jsonl')
if os.path.exists(cases):
    n = bad = 0
    for line in open(cases, encoding='utf-8'):
        c = json.loads(line)
        n += 1
        if enc(c['text']) != c['ids']:
            bad += 1
            print('reference disagrees with cases.jsonl:', json.dumps(c['text'], ensure_ascii=False))
    print('cases.jsonl: %d cases, reference disagrees on %d' % (n, bad))

# ---- edge cases ----
texts = []
letters = ['a', 'Z', 'é', 'ж', 'α', '中', 'カ', 'ひ', '한', '_', '-', '.', ' ', '\n', '%']
for n in range(1, 13):
    d = '1234567890123'[:n]
    texts += [d, 'x' + d, d + 'x', 'x' + d + 'y', ' ' + d, d + ' ', 'v' + d + '.' + d, '٣' * n, '¹²³' [:1] * n,
              'ab' + d + 'cd' + d]
    for l in letters:
        texts.append(l + d + l)
cjk_border = ['\u4dff', '\u4e00', '\u4e01', '\u9fa4', '\u9fa5', '\u9fa6', '\u9fff', '\u303f', '\u3040', '\u3041',
              '\u309f', '\u30a0', '\u30a1', '\u30fb', '\u30fc', '\u30ff', '\u3100', '\u31f0', '\uf900', '\U00020000',
              '\u3007', '\u3005', '\uff66', '\uff9f']
for c in cjk_border:
    texts += [c, c * 3, 'a' + c + 'b', ' ' + c, c + ' ', '中' + c + '文', 'カ' + c + 'ナ', '1' + c + '2', c + '。']
texts += ['日本語のテキストとカタカナ、ひらがな。', 'ｶﾀｶﾅ ﾊﾝｶｸ', 'ゔゕゖ゙゚゛゜ゝゞゟ', '東京タワーは333メートルです。',
          '私は「学生」です！', 'ヴァイオリン・コンサート', '〜〝〟ー']
marks = ['\u0301', '\u0308', '\u20dd', '\u0e31', '\u093f', '\u05b7', '\u1ab0', '\ufe0f', '\u200d']
for m in marks:
    texts += ['e' + m, ' ' + m, m, '1' + m, '.' + m, 'a' + m + m + 'b', m + 'x', '中' + m, '\n' + m + 'a']
ws = [' ', '  ', '   ', '\t', ' \t ', '\u00a0', '\u3000', '\u2003', '\u0085', '\u180e', '\u200b', '\u2028', '\u2029',
      '\u202f', '\u205f', '\u1680', '\ufeff', '\x0b', '\x0c']
for w in ws:
    texts += ['a' + w + 'b', 'a' + w + '\nb', 'a' + w, w + 'a', w, w + w + '\n', 'a' + w + w + w + '\n\n' + w + 'b',
              '1' + w + '2', '.' + w + '.', w + '\r\n', 'x' + w + '\n']
texts += ['\r\n', 'a\r\nb', '\r\r\n', '\n\r', 'a \r\n b', 'a\r\n\r\nb', ' \n', '\n ', '\n\n\n', '   \n   ', 'a  \n  b',
          'end   ', 'end\n', 'end \n', 'end\t\n ', '\r', 'a\rb', '\r\n\r\n  x', '  \r\n', 'x\n\n\n\n\n\n\n\n\ny']
punct = ['(', ')', "'", '"', '.', ',', '#', '!', '?', '-', '_', '/', '\\', '@', '[', ']', '{', '}', '~', '`', '^',
         '$', '%', '&', '*', '+', '=', '<', '>', '|', ';', ':', '。', '，', '「', '»', '¿', '§', '€', '©', '→', '∑']
for p in punct:
    texts += [p + 'hello', p + p + 'abc', 'x' + p + 'y', ' ' + p + 'Word', p + 'é', p + '中', p + '\n', ' ' + p + p + '\n\n',
              p + '1', p + ' ' + 'a', 'a' + p]
texts += ["I'm", "don't", "'s", "...and", "#include <stdio.h>", "!!!a", "a.b.c", "foo.bar()", "x=-1", "x = -1;",
          "http://example.com/a?b=c&d=e", "user@example.com", "C++ and C#", "$HOME/.bashrc", "--no-bos", "`code`",
          "def f(x):\n    return x**2\n", "if (a && b) { return; }\n\t\tgoto x;", "<div class=\"a\">b</div>",
          "SELECT * FROM t WHERE a='b';", "ÀÉÎÕÜ àéîõü", "Ünïcödé", "ǅǈǋ", "ﬁﬂ", "ŉ", "İstanbul"]
emoji = ['😀', '👍🏽', '👨\u200d👩\u200d👧\u200d👦', '🏳️\u200d🌈', '👩🏿\u200d💻', '🇯🇵', '🇺🇸🇬🇧', '❤️', '✌🏻', '1️⃣',
         '🧑\u200d🤝\u200d🧑', '🫠', '🪿']
for e in emoji:
    texts += [e, 'a' + e + 'b', ' ' + e, e + e, e + '\n', '中' + e, e + '1']
full = ['ＡＢＣ', 'ａｂｃ', '１２３', '！？', 'Ｈｅｌｌｏ，ｗｏｒｌｄ！', '（括弧）', '＃１', '　全角　スペース　']
texts += full + [f + 'abc' for f in full] + ['abc' + f for f in full]
texts += ['\U00031350\U00031351', 'a\U00031350b', '\u1c89\u1c8a', 'x\u0378y', '\ue000\uf8ff', '\U000f0000',
          '\ufffd', 'a\ufffdb', '\x00', 'a\x00b', '\x01\x02\x1f\x7f', '\x80\x9f', 'ÿ', '\U0010ffff',
          '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝟙𝟚𝟛', 'Ⅻ', '½¾', '²³', '①②', '᠐᠑', '꧐', 'x²+y²', '۱۲۳۴', '१२३४५']
texts += ['a' * 300, 'ab' * 150, ' ' * 200, '\n' * 100, '=' * 250, '中' * 300, 'カ' * 200, '한' * 200,
          'é' * 150, '1' * 100, 'xyz' * 100 + '!', ('the ' * 80).strip(), 'Z' * 97, 'Z' * 95]
# every added token glued to text on both sides
added = tok.get_added_tokens_decoder()
for i in sorted(added):
    c = added[i].content
    texts.append('x' + c + 'y')
texts += ['<｜User｜><｜Assistant｜>', '<｜User｜', '｜User｜>', '<|EOT|><|EOT|>', ' <｜User｜> ', '\n<｜User｜>\n',
          '<｜begin▁of▁sentence｜><｜begin▁of▁sentence｜>', '<<｜User｜>>', '<｜place▁holder▁no▁1｜>0',
          '<｜place▁holder▁no▁10｜>', '<｜place▁holder▁no▁100｜><｜place▁holder▁no▁1000｜>', '<think>', '</think>']
# fuzz: random strings over an alphabet of interesting pieces
rng = random.Random(20261128)
alphabet = (list('aZé中カ한1 \n\t.,!?\'"-_()') + ws[:8] + marks[:4] + emoji[:4] + ['\r\n', '<｜User｜>', '<|EOT|>', '１',
            '\u4e00', '\u9fa5', '\u3040', '\u30ff', 'ß', 'ﬁ', '٣', '𝟙', '\U00031350', '\u0085'])
for _ in range(700):
    texts.append(''.join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
for _ in range(200):
    texts.append(''.join(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0x2fff),
                                          rng.randint(0x3000, 0x9fff), rng.randint(0xac00, 0xd7a3),
                                          rng.randint(0xe000, 0xffff), rng.randint(0x10000, 0x10ffff)]))
                         for _ in range(rng.randint(1, 24))).replace('\ud800', ''))
seen = set()
with open(os.path.join(here, 'edge-cases.jsonl'), 'w', encoding='utf-8') as f:
    for t in texts:
        if t in seen:
            continue
        seen.add(t)
        try:
            t.encode('utf-8')
        except UnicodeEncodeError:
            continue
        f.write(json.dumps({'text': t, 'ids': enc(t)}, ensure_ascii=False) + '\n')
print('edge-cases.jsonl:', len(seen), 'cases')

# ---- lossy: invalid UTF-8 repaired like Python's errors="replace" ----
pieces = [b'a', b' ', b'\xff', b'\xfe', b'\x80', b'\xbf', b'\xc0\x80', b'\xc1\xbf', b'\xc2', b'\xc2\xa9', b'\xe0\x80',
          b'\xe0\xa0', b'\xe0\xa0\x80', b'\xed\xa0\x80', b'\xed\x9f\xbf', b'\xef\xbf\xbd', b'\xf0\x90', b'\xf0\x90\x80',
          b'\xf0\x90\x80\x80', b'\xf4\x8f\xbf\xbf', b'\xf4\x90\x80\x80', b'\xf5\x80', b'\xe4\xb8\xad', b'\xe4', b'\n']
with open(os.path.join(here, 'lossy.jsonl'), 'w', encoding='utf-8') as f:
    for _ in range(300):
        b = b''.join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        f.write(json.dumps({'hex': b.hex(), 'ids': enc(b.decode('utf-8', errors='replace'))}) + '\n')

# ---- chat templates rendered by the real templates (jinja2, set up as
# transformers sets it up: sandboxed, trim_blocks, lstrip_blocks).  jinja2 is
# called directly because transformers' apply_chat_template rewrites messages
# (5.x drops a null content, so V3 tool-call turns raise there).
from jinja2.sandbox import ImmutableSandboxedEnvironment
jenv = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
v3cfg = json.load(open(os.path.join(share, 'tokenizer_config.json'), encoding='utf-8'))
v3_template = v3cfg['chat_template']
r1_template = json.load(open(os.path.join(root, 'tests', 'fixtures', 'tokenizer', 'r1', 'tokenizer_config.json'),
                             encoding='utf-8'))['chat_template']
def call(name, args, i=''):
    return {'type': 'function', 'function': {'name': name, 'arguments': args}}
convs = {
    'user-only': [{'role': 'user', 'content': 'Hi'}],
    'system-user': [{'role': 'system', 'content': 'You are helpful.'}, {'role': 'user', 'content': 'Hi'}],
    'two-systems': [{'role': 'system', 'content': 'A.'}, {'role': 'user', 'content': 'q'},
                    {'role': 'system', 'content': 'B.'}],
    'multi-turn': [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': '1+1?'},
                   {'role': 'assistant', 'content': '2'}, {'role': 'user', 'content': 'and 2+2?'}],
    'think-history': [{'role': 'user', 'content': 'Why?'},
                      {'role': 'assistant', 'content': '<think>\nhmm</think>\n\nBecause.'},
                      {'role': 'user', 'content': 'Sure?'},
                      {'role': 'assistant', 'content': 'a</think>b</think>c'}, {'role': 'user', 'content': 'ok'}],
    'tool-call': [{'role': 'system', 'content': 'Use tools.'}, {'role': 'user', 'content': 'Weather in Paris?'},
                  {'role': 'assistant', 'content': None,
                   'tool_calls': [call('get_weather', '{"city": "Paris"}')]},
                  {'role': 'tool', 'content': '{"temp": 21}'},
                  {'role': 'assistant', 'content': 'It is 21 degrees.'}, {'role': 'user', 'content': 'Thanks'}],
    'two-calls-two-outputs': [{'role': 'user', 'content': 'Compare'},
                              {'role': 'assistant', 'content': None,
                               'tool_calls': [call('a', '{}'), call('b', '{"x": [1, 2]}')]},
                              {'role': 'tool', 'content': 'A'}, {'role': 'tool', 'content': 'B'}],
    'calls-across-messages': [{'role': 'user', 'content': 'u1'},
                              {'role': 'assistant', 'content': None, 'tool_calls': [call('f', '1')]},
                              {'role': 'tool', 'content': 'r1'}, {'role': 'user', 'content': 'u2'},
                              {'role': 'assistant', 'content': None, 'tool_calls': [call('g', '2')]},
                              {'role': 'tool', 'content': 'r2'}],
    'r1-content-and-calls': [{'role': 'user', 'content': 'go'},
                             {'role': 'assistant', 'content': 'Let me check.', 'tool_calls': [call('f', '{}')]},
                             {'role': 'tool', 'content': 'done'}],
    'unicode': [{'role': 'system', 'content': '你是一个助手。'}, {'role': 'user', 'content': '日本語で答えて 😀\n\n'},
                {'role': 'assistant', 'content': 'はい！ <｜User｜> literal'}],
    'unknown-role': [{'role': 'user', 'content': 'a'}, {'role': 'developer', 'content': 'ignored'},
                     {'role': 'assistant', 'content': 'b'}],
    'empty': [],
    'null-user-content': [{'role': 'user', 'content': None}],
    'missing-assistant-content': [{'role': 'user', 'content': 'x'}, {'role': 'assistant'}],
    'number-content': [{'role': 'user', 'content': 5}],
    'object-arguments': [{'role': 'user', 'content': 'x'},
                         {'role': 'assistant', 'content': None, 'tool_calls': [call('f', {'a': 1})]}],
    'null-no-calls': [{'role': 'user', 'content': 'x'}, {'role': 'assistant', 'content': None}],
}
with open(os.path.join(here, 'chat-cases.jsonl'), 'w', encoding='utf-8') as f:
    for name, msgs in convs.items():
        for tname, tmpl in (('v3', v3_template), ('r1', r1_template)):
            for gen in (False, True):
                rec = {'name': name, 'template': tname, 'generation_prompt': gen, 'messages': msgs}
                try:
                    text = jenv.from_string(tmpl).render(messages=msgs, add_generation_prompt=gen,
                                                         bos_token=v3cfg['bos_token']['content'],
                                                         eos_token=v3cfg['eos_token']['content'])
                    rec['text'] = text
                    rec['ids'] = enc(text)
                except Exception as e:
                    rec['error'] = True
                    rec['why'] = type(e).__name__
                f.write(json.dumps(rec, ensure_ascii=False) + '\n')
print('chat-cases.jsonl:', len(convs) * 4, 'renderings')
