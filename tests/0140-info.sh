# ds-info: what a model directory holds (counts from config.json, checked
# against the checkpoint's own bytes), the tensors a checkpoint lacks or
# holds beyond its config (also said by ds-sum --tensors), and --check's
# NaN FP8 bytes.
. "$DS_TESTS/lib.sh"

cd "$T"
jnum() { grep -o "\"$1\":[[:space:]]*[0-9]*" | head -n 1 | grep -o '[0-9]*$'; }	# KEY < JSON
ds-mkmodel -q -p tiny-v3 -o m --shard-size 1M
check "ds-info describes a sharded tiny-v3" sh -c "ds-info m >info.txt"
check "... its layers" grep -q '^layers          2: 1 dense, 1 MoE, and 1 MTP module$' info.txt
check "... its experts" grep -q '^experts         16 routed (4 per token) + 1 shared, width 160; 4 groups (2 per token), sigmoid, noaux_tc$' info.txt
check "... its files" grep -q '^weights         8.1 MB in 265 tensors, 9 files: F32 122 (3.0 kB) BF16 23 (1.7 MB) F8_E4M3 120 (6.3 MB)$' info.txt
check "... and that the checkpoint is what config.json needs" grep -q '^tensors         every tensor config.json needs is there, and nothing else$' info.txt

ds-mkmodel -q -p tiny-v3 -o b --dtype bf16
ds-info --json b >b.json
total=$(jnum total <b.json)
check_eq "parameters: config.json's count is the checkpoint's (BF16 bytes / 2 + F32 bytes / 4)" "$total" \
	"$(( $(sed -n '/"BF16"/,/}/p' b.json | jnum bytes) / 2 + $(sed -n '/"F32"/,/}/p' b.json | jnum bytes) / 4 ))"
check_eq "KV cache per token: (kv_lora_rank 160 + rope 16) x 2 layers x 4 bytes" "$(jnum bytes_per_token <b.json)" 1408

mkdir v3
cp "$FIXTURES/configs/deepseek-v3.json" v3/config.json
ds-info --json v3 >v3.json
check_eq "DeepSeek-V3's config: 671.0 B parameters without MTP, 37.6 B active per token, 684.5 B with MTP" \
	"$(jnum main <v3.json) $(jnum active <v3.json) $(jnum total <v3.json)" "671026419200 37552297472 684489845504"
check_eq "... a KV cache of 140544 bytes per token" "$(jnum bytes_per_token <v3.json)" 140544
check "... and without a checkpoint it says so" sh -c "ds-info v3 | grep -q '^weights         none here (config.json alone: 688.6 GB as FP8 + BF16)$'"

# a checkpoint with more than its config reads: the MTP module's tensors
ds-mkmodel -q -p tiny-v3 -o extra
sed 's/"num_nextn_predict_layers":[[:space:]]*1/"num_nextn_predict_layers": 0/' extra/config.json >extra/c && mv extra/c extra/config.json
check "tensors nothing reads are a warning, not a failure" sh -c "ds-info extra >extra.txt 2>extra.err"
check "... named" grep -q "^ds-info: warning: extra: 124 checkpoint tensors are not read by config.json's model (first: 'model.layers.2.eh_proj.weight')$" extra.err
check "... and listed" grep -q '^unused          124$' extra.txt
check "ds-sum --tensors says so too" sh -c "ds-sum --tensors extra >/dev/null 2>sum.err && grep -q 'extra: 124 checkpoint tensors are not read' sum.err"

# and one with less: an index that leaves a tensor out, a config with more layers
ds-mkmodel -q -p tiny-v3 -o short --shard-size 1M
grep -v '"model.layers.1.post_attention_layernorm.weight"' short/model.safetensors.index.json >short/i
mv short/i short/model.safetensors.index.json
# fails_with NAME CMD...: exit 65 after the report, the problem on stderr
fails_with() {
	name=$1; shift
	set +e; "$@" >"$name.out" 2>"$name.err"; rc=$?; set -e
	check_eq "$name: exit 65, after the report" "$rc/$(grep -c '^model ' "$name.out")" "65/1"
}
fails_with short ds-info short
check "a tensor the index leaves out is named" grep -q "short: 1 tensor config.json needs is missing (first: 'model.layers.1.post_attention_layernorm.weight')" short.err
check "ds-sum --tensors warns of it" sh -c "ds-sum --tensors short >/dev/null 2>sum2.err && grep -q \"missing (first: 'model.layers.1.post_attention_layernorm.weight')\" sum2.err"
ds-mkmodel -q -p tiny-v3 -o wide
sed 's/"intermediate_size":[[:space:]]*400/"intermediate_size": 512/' wide/config.json >wide/c && mv wide/c wide/config.json
fails_with wide ds-info wide
check "a tensor of another shape than config.json implies is named with both shapes" grep -q "wide: 3 tensors have the wrong shape (first: model.layers.0.mlp.down_proj.weight \[320, 400\], config.json implies \[320, 512\])" wide.err

# --check reads every byte: a NaN in an FP8 weight
ds-mkmodel -q -p tiny-v3 -o nan
check "--check on a clean model" sh -c "ds-info --check nan | grep -q '^check           0 NaN FP8 bytes, 0 non-finite FP8 scales$'"
hl=$(head -c 8 nan/model.safetensors | od -An -tu8 | tr -d ' ')
at=$(head -c $((8 + hl)) nan/model.safetensors | tail -c +9 |
	grep -o '"model.layers.0.self_attn.q_a_proj.weight":{[^}]*}' | sed 's/.*"data_offsets":\[\([0-9]*\),.*/\1/')
printf '\377' | dd of=nan/model.safetensors bs=1 seek=$((8 + hl + at + 77)) conv=notrunc 2>/dev/null
check "without --check the NaN is not looked for" sh -c "ds-info nan >/dev/null"
fails_with nan ds-info --check nan
check "--check finds the NaN FP8 byte, in the tensor that holds it" grep -q "nan: 1 NaN FP8 bytes and 0 non-finite scales (first in 'model.layers.0.self_attn.q_a_proj.weight')" nan.err

expect_fail 64 "ds-info without a directory" ds-info
expect_fail 66 "ds-info of a directory without config.json" ds-info "$T/nowhere"
