# ds-forward's parts of speculative decoding: --last-positions N (the rows
# a verifier needs), the ROLLBACK flag (a rollback carried by the next
# input), the verify pass's rows against one-token-at-a-time decoding bit
# for bit on every kernel set (the CPU backend's rows must not depend on
# how they are batched, or drafts would change tokens), and the drafting
# stage's frames and refusals.
. "$DS_TESTS/lib.sh"

M="$T/m"
ds mkmodel -q -p tiny-v3 -o "$M" --seed 5
ds mkmodel -q -p tiny-v3 -o "$T/bf16" --seed 6 --dtype bf16
values() {	# FILE: the value lines of every LOGITS frame's text view
	ds cat "$1" | awk '/^frame / { on = index($0, "LOGITS") > 0; next } on'
}

echo '5 6 7 8 9' | ds cat --from-ids | ds embed -m "$M" >"$T/h5"
ds forward -m "$M" --head --last-positions 3 "$T/h5" >"$T/last3"
ds forward -m "$M" --head --all-positions "$T/h5" >"$T/all"
check_eq "--last-positions 3: LOGITS of the last 3 rows" "$(ds cat -f header "$T/last3" | cut -d' ' -f3-10)" \
	"LOGITS f32 [3, 512] seq 0 pos 2"
values "$T/last3" >"$T/a"
values "$T/all" | tail -n 3 >"$T/b"
check_files "... equal to those rows of --all-positions" "$T/a" "$T/b"
echo '5 6' | ds cat --from-ids | ds embed -m "$M" | ds forward -m "$M" --head --last-positions 3 >"$T/short"
check_eq "a frame shorter than N gives all its rows" "$(ds cat -f header "$T/short" | cut -d' ' -f3-4)" "LOGITS f32"
check "... [2, V]" sh -c "'$DS_BIN/ds-cat' -f header '$T/short' | grep -q '\[2, 512\]'"
expect_fail 64 "--last-positions without --head" ds forward -m "$M" --last-positions 2 "$T/h5"

# ROLLBACK: the frame's pos is where its sequence goes on
echo '5 6 7 8 9 10' | ds cat --from-ids >"$T/t6"
echo '20 21' | ds cat --from-ids --pos 3 --rollback >"$T/t2rb"
echo '20 21' | ds cat --from-ids --pos 3 >"$T/t2"
ds cat --control TRUNCATE --pos 3 >"$T/trunc"
cat "$T/t6" "$T/t2rb" | ds embed -m "$M" | ds forward -m "$M" --head --all-positions --emit-hidden >"$T/rb"
cat "$T/t6" "$T/trunc" "$T/t2" | ds embed -m "$M" | ds forward -m "$M" --head --all-positions >"$T/tr"
check_eq "the HIDDEN result keeps ROLLBACK, the LOGITS do not" \
	"$(ds cat -f header "$T/rb" | sed -n '3,4p' | cut -d' ' -f3-)" \
"HIDDEN f32 [2, 320] seq 0 pos 3 aux 2 final rollback digest
LOGITS f32 [2, 512] seq 0 pos 3 final digest"
ds cat "$T/rb" | awk '/^frame 3:/ { on = 1; next } /^frame / { on = 0 } on' >"$T/rb.rows"
ds cat "$T/tr" | awk '/^frame 2:/ { on = 1; next } /^frame / { on = 0 } on' >"$T/tr.rows"
check "rolled-back rows were written" test -s "$T/rb.rows"
check_files "a ROLLBACK frame computes what TRUNCATE + frame computes" "$T/rb.rows" "$T/tr.rows"
cat "$T/t6" "$T/t2" | ds embed -m "$M" >"$T/norb"
set +e
ds forward -m "$M" "$T/norb" >/dev/null 2>"$T/norb.err"
rc=$?
set -e
check_eq "the same frame without the flag is refused (65)" "$rc" 65

# the verify pass: a prompt, then [x, d1, d2, d3] in one frame, against the
# same tokens one frame each; the rows must be the same bits, per kernel set
isa_ok() {
	case $1 in
	generic) return 0 ;;
	avx2) grep -qw avx2 /proc/cpuinfo ;;
	avx512) grep -qw avx512vbmi /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo ;;
	avx512bf16) grep -qw avx512_bf16 /proc/cpuinfo ;;
	esac
}
echo '3 1 4 1 5 9 2' | ds cat --from-ids >"$T/p"
echo '6 5 3 5' | ds cat --from-ids --pos 7 --drafts 3 >"$T/chunk"
printf '%s\n' 6 5 3 5 >"$T/col"
: >"$T/steps"
p=7
while read -r id; do
	echo "$id" | ds cat --from-ids --pos "$p" >>"$T/steps"
	p=$((p + 1))
done <"$T/col"
for model in "$M" "$T/bf16" "$FIXTURES/models/v3-fp8"; do
	[ -f "$model/config.json" ] || continue
	name=$(basename "$model")
	for isa in generic avx2 avx512 avx512bf16; do
		if ! isa_ok $isa; then
			skip "verify rows = one-token rows, $name, DS_CPU=$isa" "this CPU lacks it"
			continue
		fi
		cat "$T/p" "$T/chunk" | DS_CPU=$isa ds embed -m "$model" |
			DS_CPU=$isa ds forward -m "$model" --head --last-positions 4 >"$T/v.$isa"
		cat "$T/p" "$T/steps" | DS_CPU=$isa ds embed -m "$model" | DS_CPU=$isa ds forward -m "$model" --head >"$T/s.$isa"
		values "$T/v.$isa" | tail -n 4 >"$T/va"
		values "$T/s.$isa" | tail -n 4 >"$T/sa"
		check "verify rows were written ($name, $isa)" test "$(wc -l <"$T/va")" -eq 4
		check_files "verify pass rows = one-token decoding rows, bit for bit, $name, DS_CPU=$isa" "$T/va" "$T/sa"
	done
done

# the drafting stage
ds mkmodel -q -p tiny-v2-lite -o "$T/nomtp" --seed 1
echo '5 6 7' | ds cat --from-ids | ds embed -m "$M" --pass-tokens | ds forward -m "$M" --head --emit-hidden |
	ds sample --verify | ds forward -m "$M" --mtp --draft 3 >"$T/d"
check_eq "--draft 3 writes the next input: [x, 3 drafts] at x's pos, ROLLBACK" "$(ds cat -f header "$T/d")" \
	"frame 0: TOKENS i32 [4] seq 0 pos 3 drafts 3 rollback digest"
echo '5 6 7' | ds cat --from-ids | ds embed -m "$M" --pass-tokens | ds forward -m "$M" --head --emit-hidden |
	ds sample --verify | ds forward -m "$M" --mtp --draft 3 --draft-policy adaptive >"$T/da"
check_files "--draft-policy adaptive starts at K: the same first frame" "$T/d" "$T/da"
echo '5 6 7 8' | ds cat --from-ids --drafts 1 >"$T/unverified"
ds embed -m "$M" --pass-tokens "$T/unverified" | ds forward -m "$M" --head --emit-hidden >"$T/u.main"
expect_fail 65 "drafts that reach the drafter unverified" ds forward -m "$M" --mtp --draft 1 "$T/u.main"
echo '5 6 7 8' | ds cat --from-ids >"$T/tok.only"
expect_fail 65 "settled tokens before their hidden rows" ds forward -m "$M" --mtp --draft 1 "$T/tok.only"
expect_fail 64 "--draft without --mtp" ds forward -m "$M" --head --draft 1 "$T/h5"
