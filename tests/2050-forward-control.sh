# CONTROL frames: END and RESET free a sequence's cache in ds-forward (and
# pass on), after which the sequence starts again at position 0 with the
# same results; unknown kinds pass through in order.
. "$DS_TESTS/lib.sh"

FX="$FIXTURES/models/moonlight-f16"
[ -f "$FX/config.json" ] || { skip "CONTROL on the moonlight-f16 fixture" "fixture missing"; exit 0; }
ctl() {	# SEQ AUX: a CONTROL frame without digest
	printf 'DSPF\001\000\005\005\000\000\001\000'
	printf "\\$(printf %o "$2")\\000\\000\\000"
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
	printf "\\$(printf %o "$1")\\000\\000\\000\\000\\000\\000\\000"
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
}
echo '5 6 7 8' | ds cat --from-ids >"$T/tok"
ds embed -m "$FX" "$T/tok" >"$T/h"
{ cat "$T/h"; ctl 0 2; cat "$T/h"; ctl 0 1; cat "$T/h"; printf '1 2\n' | ds cat --from-text LOGITS; } >"$T/in"
ds forward -m "$FX" --head "$T/in" >"$T/out"
check_eq "RESET and END pass on in order; the sequence restarts at 0 after each" "$(ds cat -f header "$T/out")" \
"frame 0: LOGITS f32 [1, 300] seq 0 pos 3 final digest
frame 1: CONTROL RESET seq 0
frame 2: LOGITS f32 [1, 300] seq 0 pos 3 final digest
frame 3: CONTROL END seq 0
frame 4: LOGITS f32 [1, 300] seq 0 pos 3 final digest
frame 5: LOGITS f32 [1, 2] seq 0 pos 0 final digest"
ds cat "$T/out" | sed -n 2p >"$T/a"
ds cat "$T/out" | sed -n 5p >"$T/b"
check_files "the restarted sequence gives the same logits" "$T/a" "$T/b"
{ cat "$T/h"; ctl 1 1; cat "$T/h"; } >"$T/other"
set +e
ds forward -m "$FX" "$T/other" >/dev/null 2>"$T/err"
rc=$?
set -e
check_eq "an END of another sequence frees nothing (the repeat is refused, 65)" "$rc" 65

# an empty TOKENS frame (header only) goes through every stage as empty frames
FX3="$FIXTURES/models/v3-fp8"
if [ -f "$FX3/config.json" ]; then
	{ printf 'DSPF\001\000\001\005\000\000\001\000\000\000\000\000'
	  printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
	  printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
	  printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'; } >"$T/empty"
	ds embed -m "$FX3" --pass-tokens "$T/empty" >"$T/empty.h"
	ds forward -m "$FX3" --head --emit-hidden --emit-routes "$T/empty.h" >"$T/empty.out"
	check_eq "an empty frame gives empty frames" "$(ds cat -f header "$T/empty.out")" \
"frame 0: TOKENS i32 [0] seq 0 pos 0 digest
frame 1: ROUTES idval [0, 3] seq 0 pos 0 aux 1 digest
frame 2: ROUTES idval [0, 3] seq 0 pos 0 aux 2 digest
frame 3: HIDDEN f32 [0, 288] seq 0 pos 0 aux 3 digest
frame 4: LOGITS f32 [0, 256] seq 0 pos 0 digest"
	ds forward -m "$FX3" --mtp "$T/empty.out" >"$T/empty.mtp"
	check_eq "... and no MTP rows" "$(ds cat -f header "$T/empty.mtp")" \
"frame 0: ROUTES idval [0, 3] seq 0 pos 0 aux 1 digest
frame 1: ROUTES idval [0, 3] seq 0 pos 0 aux 2 digest
frame 2: LOGITS f32 [0, 256] seq 0 pos 0 digest"
fi
