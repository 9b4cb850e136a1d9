# What ds-mkmodel writes is what transformers reads: every float field of
# config.json is written as a float (transformers' strict config classes, and
# the llama.cpp converters built on them, refuse "routed_scaling_factor": 1),
# every preset's config.json loads with AutoConfig, and generated BF16
# checkpoints load with AutoModelForCausalLM.from_pretrained (transformers
# dequantises FP8 only on a GPU, so the FP8 presets are checked by config).
# The Python part runs when DS_PYTHON names a Python with transformers.
. "$DS_TESTS/lib.sh"

cd "$T"
for p in tiny-v3 tiny-v2-lite v3-width v2-lite moonlight; do
	mkdir -p "cfg-$p"
	ds mkmodel -p "$p" --print-config >"cfg-$p/config.json"
	# a float field never prints as a bare integer
	bad=$(grep -E '"(rms_norm_eps|routed_scaling_factor|rope_theta|aux_loss_alpha|initializer_range|factor|mscale|mscale_all_dim|beta_fast|beta_slow)":[[:space:]]*-?[0-9]+,?$' \
		"cfg-$p/config.json" || true)
	check_eq "$p: float fields are written as floats" "$bad" ""
done
check "an integral float reads back as N.0" grep -q '"routed_scaling_factor":[[:space:]]*1\.0,' cfg-tiny-v2-lite/config.json
check "integer fields stay integers" grep -qE '"hidden_size":[[:space:]]*320,' cfg-tiny-v2-lite/config.json

if ! have_python_ref transformers; then
	skip "transformers loads every preset's config.json" "set DS_PYTHON to a python with transformers"
	skip "transformers loads generated checkpoints" "set DS_PYTHON to a python with transformers"
	exit 0
fi
ds mkmodel -q -p tiny-v3 --dtype bf16 -o m-v3 --seed 2
ds mkmodel -q -p tiny-v2-lite -o m-v2 --seed 2
"$DS_PYTHON" - cfg-* m-v3 m-v2 >py.out 2>py.err <<'PY' || true
import sys, warnings
warnings.filterwarnings("ignore")
from transformers import AutoConfig, AutoModelForCausalLM
from transformers.utils import logging
logging.set_verbosity_error()
for d in sys.argv[1:]:
    try:
        c = AutoConfig.from_pretrained(d)
        print(f"config {d} {type(c).__name__}")
        if d.startswith("m-"):
            m = AutoModelForCausalLM.from_pretrained(d)
            n = sum(p.numel() for p in m.parameters())
            print(f"model {d} {type(m).__name__} {n}")
    except Exception as e:
        print(f"fail {d} {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
PY
for p in tiny-v3 tiny-v2-lite v3-width v2-lite moonlight; do
	check "AutoConfig loads the $p preset's config.json" grep -q "^config cfg-$p Deepseek" py.out
done
check "from_pretrained loads a generated tiny-v3 (bf16) checkpoint" grep -q '^model m-v3 DeepseekV3ForCausalLM' py.out
check "from_pretrained loads a generated tiny-v2-lite checkpoint" grep -q '^model m-v2 DeepseekV2ForCausalLM' py.out
grep '^fail' py.out | sed 's/^/# /' || true
