# Bad input to ds-forward and ds-route: a clear message and the right
# sysexits code, never garbage on stdout or a crash.
. "$DS_TESTS/lib.sh"

FX="$FIXTURES/models/v3-fp8"
[ -f "$FX/config.json" ] || { skip "errors on the v3-fp8 fixture" "fixture missing"; exit 0; }
echo '1 2 3' | ds cat --from-ids | ds embed -m "$FX" >"$T/h0"

printf '1 2 3\n' | ds cat --from-text HIDDEN >"$T/narrow"
expect_fail 65 "a HIDDEN frame of the wrong width is 65" ds forward -m "$FX" "$T/narrow"
# an i32 HIDDEN frame [1, 288] without digest: header, then 1152 zero bytes
{ printf 'DSPF\001\000\002\005\000\000\002\000\000\000\000\000'
  printf '\001\000\000\000\040\001\000\000\000\000\000\000\000\000\000\000'
  printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
  printf '\200\004\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
  head -c 1152 /dev/zero; } >"$T/i32"
expect_fail 65 "a HIDDEN frame of dtype i32 is 65" ds forward -m "$FX" "$T/i32"
cat "$T/h0" "$T/h0" >"$T/twice"
set +e
ds forward -m "$FX" "$T/twice" >"$T/twice.out" 2>"$T/twice.err"
rc=$?
set -e
check_eq "a frame that does not continue its sequence is 65" "$rc" 65
check_eq "... after the good frame was written" "$(ds cat -f header "$T/twice.out")" \
	"frame 0: HIDDEN f32 [3, 288] seq 0 pos 0 aux 3 final digest"
check "... and the message names the frame and positions" grep -q 'frame 1: sequence 0: frame starts at position 0 but 3 positions are cached' "$T/twice.err"
echo '1 2' | ds cat --from-ids --pos 5 | ds embed -m "$FX" >"$T/late"
expect_fail 65 "a new sequence starting at pos 5 is 65" ds forward -m "$FX" "$T/late"
mkdir "$T/short"
for f in "$FX"/*.safetensors "$FX"/*.json; do ln -s "$f" "$T/short/"; done
rm "$T/short/config.json"
sed 's/"max_position_embeddings": 163840/"max_position_embeddings": 2/' "$FX/config.json" >"$T/short/config.json"
expect_fail 65 "positions beyond max_position_embeddings are 65" ds forward -m "$T/short" "$T/h0"
expect_fail 64 "--layers beyond the model is 64" ds forward -m "$FX" --layers 0:4 "$T/h0"
expect_fail 64 "--layers B < A is 64" ds forward -m "$FX" --layers 2:1 "$T/h0"
expect_fail 64 "--layers junk is 64" ds forward -m "$FX" --layers x "$T/h0"
expect_fail 64 "--emit-hidden without --head is 64" ds forward -m "$FX" --emit-hidden "$T/h0"
expect_fail 69 "--device cuda (no CUDA backend) is 69" ds forward -m "$FX" --device cuda "$T/h0"
expect_fail 66 "a missing model is 66" ds forward -m "$T/nowhere" "$T/h0"
mkdir "$T/freq"
for f in "$FX"/*.safetensors "$FX"/*.json; do ln -s "$f" "$T/freq/"; done
rm "$T/freq/config.json"
sed 's/"moe_layer_freq": 1/"moe_layer_freq": 2/' "$FX/config.json" >"$T/freq/config.json"
expect_fail 78 "an unsupported config (moe_layer_freq 2) is 78" ds forward -m "$T/freq" "$T/h0"
mkdir "$T/inter"
for f in "$FX"/*.safetensors "$FX"/*.json; do ln -s "$f" "$T/inter/"; done
rm "$T/inter/config.json"
sed 's/"use_cache": true/"use_cache": true, "rope_interleave": false/' "$FX/config.json" >"$T/inter/config.json"
expect_fail 78 "rope_interleave false (pre-permuted rope rows) is 78" ds forward -m "$T/inter" "$T/h0"
mkdir "$T/noexp"
for f in "$FX"/*.json; do ln -s "$f" "$T/noexp/"; done
ln -s "$FX/weights-a.safetensors" "$T/noexp/"
ln -s "$FX/extra-mtp.safetensors" "$T/noexp/"
expect_fail 66 "a shard named by the index but absent is 66" ds forward -m "$T/noexp" "$T/h0"
head -c 100 "$T/h0" >"$T/trunc"
expect_fail 65 "a truncated frame is 65" ds forward -m "$FX" "$T/trunc"
V2="$FIXTURES/models/v2-lite-bf16"
[ -f "$V2/config.json" ] && expect_fail 78 "--mtp on a model without MTP is 78" ds forward -m "$V2" --mtp "$T/h0"

expect_fail 64 "ds-route on a dense layer is 64" ds route -m "$FX" --layer 0 "$T/h0"
expect_fail 64 "ds-route beyond the model is 64" ds route -m "$FX" --layer 3 "$T/h0"
expect_fail 64 "ds-route without --layer is 64" ds route -m "$FX" "$T/h0"
expect_fail 65 "ds-route --from-layer-input on aux 0 for layer 1 is 65" ds route -m "$FX" --layer 1 --from-layer-input "$T/h0"
expect_fail 65 "ds-route on the wrong width is 65" ds route -m "$FX" --layer 1 "$T/narrow"
expect_fail 69 "ds-route --device cuda is 69" ds route -m "$FX" --layer 1 --device cuda "$T/h0"

# --ctx-size caps what a sequence may fill, across frames, with the same
# results below the cap
echo '4' | ds cat --from-ids --pos 3 | ds embed -m "$FX" >"$T/h3"
cat "$T/h0" "$T/h3" >"$T/four"
ds forward -m "$FX" --head "$T/four" >"$T/four.ref"
check "--ctx-size 4 takes 4 positions, the logits unchanged" sh -c "ds-forward -m '$FX' --head --ctx-size 4 '$T/four' | cmp -s - '$T/four.ref'"
expect_fail 65 "--ctx-size 3 refuses the frame that goes beyond it" sh -c "ds-forward -m '$FX' --head --ctx-size 3 '$T/four' >'$T/cap.out'"
check "the message names the positions and the context" grep -q 'positions 3\.\.3 go beyond the context of 3 positions' "$T/.xf.err"
ds forward -m "$FX" --head "$T/h0" >"$T/h0.ref"
check_files "the frame before it was answered" "$T/cap.out" "$T/h0.ref"
expect_fail 65 "--ctx-size 2 refuses a first frame of 3" ds forward -m "$FX" --ctx-size 2 "$T/h0"
expect_fail 64 "--ctx-size beyond max_position_embeddings is 64" ds forward -m "$FX" --ctx-size 163841 "$T/h0"
expect_fail 64 "--ctx-size 0 is 64" ds forward -m "$FX" --ctx-size 0 "$T/h0"
