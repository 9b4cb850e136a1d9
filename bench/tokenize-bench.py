#!/usr/bin/env python3
"""ds-tokenize vs Hugging Face tokenizers, in the same run, on one machine.

Builds a mixed corpus from files found on this machine (English: vim's
docs; code: Python's standard library and this repository's C; CJK: the
zh_CN and ja message catalogs under /usr/share/locale), then measures
  - load: tokenizer.json -> ready (ds-tokenize: a run on empty input, which
    is process start + load; HF: Tokenizer.from_file), median of 7;
  - encode: single-thread MB/s on the whole corpus as one text (ds-tokenize:
    wall time of a run minus its load; HF: Tokenizer.encode, one thread),
    median of 3; HF's encode_batch over lines, one thread, is shown too;
and checks that both give the same ids.  Prints one JSON line per figure.
usage: python bench/tokenize-bench.py [DS_BIN]   (DS_BIN default: bin)
"""
import gettext, glob, json, os, statistics, subprocess, sys, tempfile, time

os.environ['RAYON_NUM_THREADS'] = '1'
os.environ['TOKENIZERS_PARALLELISM'] = 'false'
from tokenizers import Tokenizer  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ds = os.path.join(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, 'bin'), 'ds-tokenize')
tj = os.path.join(root, 'share', 'deepseek-v3', 'tokenizer.json')

def read(p):
    return open(p, encoding='utf-8', errors='replace', newline='').read()

def corpus():
    eng = ''.join(read(p) for p in sorted(glob.glob('/usr/share/vim/vim*/doc/*.txt'))[:40])
    py = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), '*.py')))[:60]
    code = ''.join(read(p) for p in py + sorted(glob.glob(os.path.join(root, 'common', '*.[ch]'))))
    cjk = []
    for p in sorted(glob.glob('/usr/share/locale/zh_CN/LC_MESSAGES/*.mo') + glob.glob('/usr/share/locale/ja/LC_MESSAGES/*.mo')):
        try:
            cjk += [v for v in gettext.GNUTranslations(open(p, 'rb'))._catalog.values() if isinstance(v, str)]
        except Exception:
            pass
    parts = {'english': eng[:4_000_000], 'code': code[:4_000_000], 'cjk': '\n'.join(cjk)[:4_000_000]}
    return parts

def run_ds(path, args=()):
    t = time.perf_counter()
    out = subprocess.run([ds, '-t', tj, '-f', 'text', *args], stdin=open(path, 'rb'), capture_output=True, check=True)
    return time.perf_counter() - t, out.stdout

parts = corpus()
text = ''.join(parts.values())
data = text.encode('utf-8')
with tempfile.NamedTemporaryFile(delete=False, suffix='.txt') as f:
    f.write(data)
    path = f.name
empty = path + '.empty'
open(empty, 'wb').close()
info = {'bytes': len(data), **{k + '_bytes': len(v.encode()) for k, v in parts.items()}, 'cpus': os.cpu_count()}
print(json.dumps({'corpus': info}))

ds_load = statistics.median(run_ds(empty)[0] for _ in range(7))
t0 = time.perf_counter(); hf = Tokenizer.from_file(tj); hf_load_first = time.perf_counter() - t0
loads = []
for _ in range(6):
    t0 = time.perf_counter(); Tokenizer.from_file(tj); loads.append(time.perf_counter() - t0)
hf_load = statistics.median(loads + [hf_load_first])

runs = [run_ds(path) for _ in range(3)]
ds_enc = statistics.median(r[0] for r in runs) - ds_load
ds_ids = [int(x) for x in runs[0][1].split()]
hf_times = []
for _ in range(3):
    t0 = time.perf_counter(); enc = hf.encode(text, add_special_tokens=False); hf_times.append(time.perf_counter() - t0)
hf_enc = statistics.median(hf_times)
lines = text.splitlines(keepends=True)
t0 = time.perf_counter(); hf.encode_batch(lines, add_special_tokens=False); hf_batch = time.perf_counter() - t0

mb = len(data) / 1e6
print(json.dumps({'load_ms': {'ds-tokenize (process start + load)': round(ds_load * 1e3, 1),
                              'hf tokenizers Tokenizer.from_file': round(hf_load * 1e3, 1)}}))
print(json.dumps({'encode_MB_per_s_single_thread': {'ds-tokenize': round(mb / ds_enc, 2),
                                                    'hf encode (whole text)': round(mb / hf_enc, 2),
                                                    'hf encode_batch (lines, 1 thread)': round(mb / hf_batch, 2)},
                  'speedup_vs_hf_encode': round(hf_enc / ds_enc, 2),
                  'speedup_vs_hf_batch': round(hf_batch / ds_enc, 2)}))
print(json.dumps({'ids_identical': ds_ids == enc.ids, 'ids': len(ds_ids)}))
os.unlink(path)
os.unlink(empty)
