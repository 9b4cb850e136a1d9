# CONTROL TRUNCATE (a rollback, ds-stream(5)): ds-forward's caches keep
# positions below the frame's pos, so the sequence continues from there as
# if the later positions had never been computed - main layers and the MTP
# module alike; ds-sample cuts its token history; every stage passes the
# frame on.  Without the frame the same re-feed is refused.
. "$DS_TESTS/lib.sh"

FX="$FIXTURES/models/v3-fp8"
[ -f "$FX/config.json" ] || { skip "TRUNCATE on the v3-fp8 fixture" "fixture missing"; exit 0; }
rows() {	# FILE FRAME FIRST LAST: value lines FIRST..LAST (from 0) of frame FRAME's text view
	ds cat "$1" | awk -v f="frame $2:" -v a="$3" -v b="$4" '
		/^frame / { on = index($0, f) == 1; r = -1; next }
		on { r++; if (r >= a && r <= b) print }'
}
echo '5 6 7 8 9 10' | ds cat --from-ids >"$T/tok6"
echo '8 9 10' | ds cat --from-ids --pos 3 >"$T/tok3b"
echo '20 21' | ds cat --from-ids --pos 3 >"$T/tok2c"
echo '5 6 7 20 21' | ds cat --from-ids >"$T/tok5c"
ds cat --control TRUNCATE --pos 3 >"$T/trunc"
check_eq "ds-cat --control writes the frame" "$(ds cat -f header "$T/trunc")" "frame 0: CONTROL TRUNCATE seq 0 pos 3"

cat "$T/tok6" "$T/trunc" "$T/tok3b" | ds embed -m "$FX" --pass-tokens >"$T/h"
check_eq "ds-embed passes TRUNCATE on in order" "$(ds cat -f header "$T/h" | cut -d' ' -f3-5)" \
"TOKENS i32 [6]
HIDDEN f32 [6,
CONTROL TRUNCATE seq
TOKENS i32 [3]
HIDDEN f32 [3,"
ds forward -m "$FX" --head --all-positions --emit-hidden "$T/h" >"$T/main"
check_eq "ds-forward passes it on and continues at pos 3" "$(ds cat -f header "$T/main" | grep -v TOKENS | cut -d' ' -f3-10)" \
"HIDDEN f32 [6, 288] seq 0 pos 0
LOGITS f32 [6, 256] seq 0 pos 0
CONTROL TRUNCATE seq 0 pos 3
HIDDEN f32 [3, 288] seq 0 pos 3
LOGITS f32 [3, 256] seq 0 pos 3"
rows "$T/main" 2 3 5 >"$T/a"
rows "$T/main" 6 0 2 >"$T/b"
check "the rolled-back positions recompute to the same logits" test -s "$T/a"
check_files "... bit for bit" "$T/a" "$T/b"

cat "$T/tok6" "$T/trunc" "$T/tok2c" | ds embed -m "$FX" | ds forward -m "$FX" --head --all-positions >"$T/c"
ds embed -m "$FX" "$T/tok5c" | ds forward -m "$FX" --head --all-positions >"$T/c.fresh"
rows "$T/c" 2 0 1 >"$T/c1"
rows "$T/c.fresh" 0 3 4 >"$T/c2"
check_files "a different continuation after the rollback equals a fresh run of that sequence" "$T/c1" "$T/c2"
cat "$T/tok6" "$T/tok3b" | ds embed -m "$FX" >"$T/norb"
set +e
ds forward -m "$FX" "$T/norb" >/dev/null 2>"$T/norb.err"
rc=$?
set -e
check_eq "without TRUNCATE the same re-feed is refused (65)" "$rc" 65
check "... naming the position" grep -q 'starts at position 3 but 6 positions are cached' "$T/norb.err"

# the MTP module's cache and its token/hidden join roll back too
ds forward -m "$FX" --mtp --all-positions "$T/main" >"$T/mtp"
check_eq "ds-forward --mtp: MTP rows 0..4, the rollback, then rows 3..4 again" \
	"$(ds cat -f header "$T/mtp" | grep -v 'LOGITS f32 \[[0-9]*, 256\] seq 0 pos [0-9]* final' | cut -d' ' -f3-10)" \
"LOGITS f32 [5, 256] seq 0 pos 0
CONTROL TRUNCATE seq 0 pos 3
LOGITS f32 [2, 256] seq 0 pos 3"
rows "$T/mtp" 0 3 4 >"$T/m1"
rows "$T/mtp" 3 0 1 >"$T/m2"
check "MTP rows were written" test -s "$T/m1"
check_files "the MTP rows after the rollback equal the first run's" "$T/m1" "$T/m2"

# ds-sample: TRUNCATE cuts the history the penalties look at
echo '3 0' | ds cat --from-ids >"$T/hist"
printf '1 0.9 0 0\n' | ds cat --from-text LOGITS --pos 1 >"$T/lg"
cat "$T/hist" "$T/lg" | ds sample --repeat-penalty 2 | ds cat -f ids >"$T/s1"
ds cat --control TRUNCATE --pos 1 | cat "$T/hist" - "$T/lg" | ds sample --repeat-penalty 2 | ds cat -f ids >"$T/s2"
check_eq "with token 0 in the history the penalty picks 1" "$(cat "$T/s1")" 1
check_eq "after TRUNCATE to 1 token 0 is no longer penalised" "$(cat "$T/s2")" 0
