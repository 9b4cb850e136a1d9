# ds-mkmodel from the command line: usage and config errors, overrides,
# determinism (seed, threads), every dtype, sharding and the index, the
# tokenizer copy, and a config.json round trip.  The tensor-by-tensor round
# trip is tests/unit/test-mkmodel.c.
. "$DS_TESTS/lib.sh"

cd "$T"
expect_fail 64 "no arguments" ds-mkmodel
expect_fail 64 "-c and -p together" ds-mkmodel -c x.json -p tiny-v3 -o out
expect_fail 64 "no -o" ds-mkmodel -p tiny-v3
expect_fail 64 "an unknown preset" ds-mkmodel -p tiny-v9 -o out
expect_fail 64 "a bad shard size" ds-mkmodel -p tiny-v3 -o out --shard-size 5Q
expect_fail 64 "a bad dtype" ds-mkmodel -p tiny-v3 -o out --dtype int4
expect_fail 66 "a missing config" ds-mkmodel -c nowhere.json -o out
printf '{"model_type": "deepseek_v3", "hidden_size": 0}' >bad.json
expect_fail 78 "an impossible config" ds-mkmodel -c bad.json -o out
check "the message names the file and the field" grep -q "bad.json: 'hidden_size'" "$T/.xf.err"
check "nothing was written for a bad config" test ! -e out

ds-mkmodel -p tiny-v3 --layers 3 --vocab 1000 --mtp 0 --dtype bf16 --print-config >cfg.json
check_eq "--print-config applies the overrides" \
	"$(grep -cE '"(num_hidden_layers)":[[:space:]]*3,|"vocab_size":[[:space:]]*1000|"num_nextn_predict_layers":[[:space:]]*0,' cfg.json)" 3
check "bf16 drops quantization_config" sh -c "! grep -q quantization_config cfg.json"
check_eq "moonlight --vocab 4096 refits bos/eos" \
	"$(ds-mkmodel -p moonlight --vocab 4096 --print-config | grep -E '"(bos|eos)_token_id"' | tr -d ' \t,\n')" \
	'"bos_token_id":0"eos_token_id":1'
check "tiny-v2-lite --dtype fp8 adds quantization_config" sh -c \
	"ds-mkmodel -p tiny-v2-lite --dtype fp8 --print-config | grep -q '\"quant_method\":[[:space:]]*\"fp8\"'"
check "the real V3 config with overrides is accepted" sh -c \
	"ds-mkmodel -c '$FIXTURES/configs/deepseek-v3.json' --layers 1 --vocab 256 --print-config >/dev/null"

ds-mkmodel -q -p tiny-v3 -o a --seed 11 -j 1
ds-mkmodel -q -p tiny-v3 -o b --seed 11 -j 3
ds-mkmodel -q -p tiny-v3 -o c --seed 12
check_files "the same seed gives the same bytes with 1 or 3 threads" a/model.safetensors b/model.safetensors
check "another seed gives other bytes" sh -c "! cmp -s a/model.safetensors c/model.safetensors"
check "one shard is model.safetensors with no index" test -f a/model.safetensors -a ! -e a/model.safetensors.index.json
check "config.json is written" grep -q '"quant_method":[[:space:]]*"fp8"' a/config.json
check "the checkpoint opens and validates" sh -c "ds-sum --tensors a >a.sums"
check_eq "header holds V3's FP8 scale names" \
	"$(head -c 20000 a/model.safetensors | grep -ao 'model.layers.0.self_attn.q_a_proj.weight_scale_inv":{"dtype":"F32","shape":\[2,3\]')" \
	'model.layers.0.self_attn.q_a_proj.weight_scale_inv":{"dtype":"F32","shape":[2,3]'

ds-mkmodel -q -c a/config.json -o d --seed 11
check_eq "config.json round trip: rebuilding from it gives the same model" \
	"$(ds-sum --tensors d | tail -n 1)" "$(tail -n 1 a.sums)"

ds-mkmodel -q -p tiny-v3 -o s --seed 11 --shard-size 1M
check "1M shards: an index and numbered shards" test -f s/model.safetensors.index.json -a -f s/model-00001-of-00009.safetensors
check_eq "as many shards as the index names" \
	"$(ls s | grep -c '^model-.*-of-00009.safetensors$')" \
	"$(grep -o '"model-[0-9]*-of-[0-9]*.safetensors"' s/model.safetensors.index.json | sort -u | wc -l | tr -d ' ')"
check_eq "the index names each of the 265 tensors once" \
	"$(grep -c '"[.a-z_0-9]*":[[:space:]]*"model-[0-9]*-of-00009.safetensors"' s/model.safetensors.index.json)" 265
check_eq "sharding leaves the model digest alone" "$(ds-sum --tensors s | tail -n 1)" "$(tail -n 1 a.sums)"
check_eq "total_size is the sum of the payloads" \
	"$(grep -o '"total_size":[[:space:]]*[0-9]*' s/model.safetensors.index.json | grep -o '[0-9]*$')" \
	"$(($(wc -c <a/model.safetensors) - 8 - $(head -c 8 a/model.safetensors | od -An -tu8 | tr -d ' ')))"
ds-mkmodel -q -p tiny-v3 -o s --seed 11
check "rewriting into the same directory removes the old shards" sh -c "! ls s | grep -q '^model-'"

for dt in bf16 f16 f32 fp8; do
	ds-mkmodel -q -p tiny-v2-lite -o "v2-$dt" --dtype "$dt"
	check "tiny-v2-lite --dtype $dt opens" ds-sum --tensors "v2-$dt"
done
check "f16 tensors are F16" grep -q '"model.norm.weight":{"dtype":"F16"' v2-f16/model.safetensors
check "f32 tensors are F32" grep -q '"lm_head.weight":{"dtype":"F32"' v2-f32/model.safetensors
check "fp8 puts q_proj in FP8" grep -q '"model.layers.0.self_attn.q_proj.weight":{"dtype":"F8_E4M3"' v2-fp8/model.safetensors
check_eq "v2-lite has no e_score_correction_bias" "$(grep -c e_score_correction_bias v2-bf16/model.safetensors || true)" 0

mkdir tok
printf '{"fake": "tokenizer"}' >tok/tokenizer.json
printf '{"fake": "config"}' >tok/tokenizer_config.json
ds-mkmodel -q -p tiny-v2-lite -o t --tokenizer tok/tokenizer.json
check_files "--tokenizer copies tokenizer.json" t/tokenizer.json tok/tokenizer.json
check_files "and the tokenizer_config.json beside it" t/tokenizer_config.json tok/tokenizer_config.json
expect_fail 66 "a missing tokenizer" ds-mkmodel -q -p tiny-v2-lite -o t2 --tokenizer nowhere.json

# A killed or failed run leaves no checkpoint that loads: every file is
# written as NAME.partial and renamed when complete, config.json last, and
# a failure removes what the run wrote.  The kill is a file size limit
# (ulimit -f counts 512-byte blocks in POSIX sh): SIGXFSZ stops the process
# in the middle of the payload, deterministically.
final_names() { ls "$1" | grep -E '^(config\.json|model\.safetensors|model-[0-9]+-of-[0-9]+\.safetensors|model\.safetensors\.index\.json|tokenizer\.json)$' || true; }
ds-mkmodel -q -p tiny-v3 -o k --seed 1
set +e
sh -c "ulimit -f 200; exec ds-mkmodel -q -p tiny-v3 -o k --seed 2" 2>/dev/null
rc=$?
set -e
check_eq "a run over a file size limit is killed by SIGXFSZ" "$rc" 153
check_eq "... and leaves no file under a final name, not even the old model's" "$(final_names k)" ""
check "... only the .partial file it was writing, cut short" sh -c \
	"n=\$(wc -c <k/model.safetensors.partial) && test \$n -gt 8 -a \$n -le 102400"
expect_fail 66 "the killed run's directory does not load" sh -c "ds-embed -m k </dev/null"
ds-mkmodel -q -p tiny-v3 -o k --seed 2
check_eq "the next run into the directory removes the .partial file" "$(ls k | tr '\n' ' ')" "config.json model.safetensors "
ds-mkmodel -q -p tiny-v3 -o k2 --seed 2
check_files "... and writes the bytes a clean run writes" k/model.safetensors k2/model.safetensors

set +e
sh -c "trap '' XFSZ; ulimit -f 200; exec ds-mkmodel -q -p tiny-v3 -o e --seed 2 --shard-size 1M" 2>e.err
rc=$?
set -e
check_eq "a failed write (EFBIG) is exit 74" "$rc" 74
check "... with a message naming the file" grep -q "^ds-mkmodel: e/model-00001-of-00009.safetensors.partial: write error: File too large" e.err
check_eq "... and removes every file it wrote" "$(ls e)" ""
mkdir notok
expect_fail 74 "a tokenizer that cannot be read is a read error" ds-mkmodel -q -p tiny-v3 -o nt --shard-size 1M --tokenizer notok
check_eq "... after the shards were complete: they are removed again" "$(ls nt)" ""

# a full file system (a small tmpfs, when this runs as root)
if [ "$(id -u)" = 0 ] && mkdir full && mount -t tmpfs -o size=1m ds-test full 2>/dev/null; then
	trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"; true' EXIT
	expect_fail 74 "a full file system is a write error" ds-mkmodel -q -p tiny-v3 -o full/m
	check "... saying so" grep -q "No space left on device" "$T/.xf.err"
	check_eq "... and leaves nothing behind" "$(ls full/m)" ""
	umount full
	trap 'rm -rf "$T"' EXIT
else
	skip "a full file system is a write error" "needs root to mount a small tmpfs"
fi

if have_python_ref safetensors; then
	ds-mkmodel -q -p tiny-v3 -o s2 --seed 11 --shard-size 1M
	check "HF safetensors reads every shard with the same names" "$DS_PYTHON" - s2 a <<'PY'
import glob, json, sys
from safetensors import safe_open
names = set()
for f in sorted(glob.glob(sys.argv[1] + "/model-*.safetensors")):
    with safe_open(f, "numpy") as h:
        names |= set(h.keys())
idx = json.load(open(sys.argv[1] + "/model.safetensors.index.json"))["weight_map"]
with safe_open(sys.argv[2] + "/model.safetensors", "numpy") as h:
    single = set(h.keys())
sys.exit(0 if names == set(idx) == single and len(names) == 265 else 1)
PY
else
	skip "HF safetensors reads the shards" "set DS_PYTHON to a python with safetensors"
fi

# an FP8 block size no dspipe reader takes is refused, not written
ds mkmodel -p tiny-v3 --print-config | tr -d '\n\t ' | sed 's/"weight_block_size":\[128,128\]/"weight_block_size":[64,128]/' >"$T/b64.json"
check "the test config asks for 64x128 blocks" grep -q '"weight_block_size":\[64,128\]' "$T/b64.json"
expect_fail 78 "ds-mkmodel refuses FP8 blocks other than 128x128" ds mkmodel -c "$T/b64.json" -o "$T/b64"
check "... and writes nothing" test ! -e "$T/b64/model.safetensors"
