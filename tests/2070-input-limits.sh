# A small frame cannot make ds-embed or ds-forward allocate what its header
# promises: positions are checked against max_position_embeddings from the
# header, before the payload is read or anything is allocated for it, and
# ds-embed writes a long frame's rows in blocks.  Memory is held to a
# virtual-memory limit (ulimit -v, in KiB), skipped under ASan, whose
# shadow memory no such limit admits.
. "$DS_TESTS/lib.sh"

cd "$T"
ds-mkmodel -q -p tiny-v3 -o m	# hidden 320, max_position_embeddings 163840
le() {	# VALUE BYTES: little-endian
	v=$1 i=0
	while [ $i -lt "$2" ]; do printf "\\$(printf '%03o' $((v & 255)))"; v=$((v >> 8)) i=$((i + 1)); done
}
hidden_header() {	# ROWS POS: an f32 HIDDEN [ROWS, 320] header without digest
	printf 'DSPF'; le 1 2; le 2 1; le 1 1; le 0 2; le 2 1; le 0 1; le 0 4
	le "$1" 4; le 320 4; le 0 8; le 0 8; le "$2" 8; le $(($1 * 1280)) 8; le 0 8
}
tokens() {	# N: a TOKENS frame of N zeros (token 0), without digest
	{ printf 'DSPF'; le 1 2; le 1 1; le 5 1; le 2 2; le 1 1; le 0 1; le 0 4
	  le "$1" 4; le 0 12; le 0 8; le 0 8; le $(($1 * 4)) 8; le 0 8; head -c $(($1 * 4)) /dev/zero; }
}
tokens 2000000 >big.tok	# 8 MB: 2.6 GB of f32 rows
tokens 163840 >ctx.tok	# the whole context: 210 MB of rows

expect_fail 65 "an 8 MB TOKENS frame of 2M positions is refused" sh -c "ds-embed -m m <big.tok"
check "... saying the positions leave the context" grep -q "positions 0..1999999 go beyond the model's context (max_position_embeddings 163840)" "$T/.xf.err"
printf '1\n' | ds-cat --from-ids --pos 163840 >late.tok
expect_fail 65 "one token at position 163840 is refused" sh -c "ds-embed -m m <late.tok"
printf '1\n' | ds-cat --from-ids --pos 163839 >last.tok
check "one token at position 163839, the last, is embedded" sh -c "ds-embed -m m <last.tok >/dev/null"
hidden_header 200000 0 >hbig
expect_fail 65 "ds-forward refuses a HIDDEN frame of 200000 rows from its header" sh -c "ds-forward -m m <hbig"
check "... before reading its payload (none follows)" grep -q "positions 0..199999 go beyond the model's context" "$T/.xf.err"
{ hidden_header 1 4294967296; head -c 1280 /dev/zero; } >hlate
expect_fail 65 "... and a HIDDEN row at position 2^32" sh -c "ds-forward -m m <hlate"

if [ -n "${DS_ASAN:-}" ]; then
	skip "memory limits" "ASan's shadow memory needs more virtual memory than any limit"
	exit 0
fi
expect_fail 65 "under a 150 MB limit the 8 MB frame is still refused, not out of memory" \
	sh -c "ulimit -v 150000; ds-embed -m m <big.tok"
check "a frame of the whole context (210 MB of rows) is embedded under a 150 MB limit" \
	sh -c "ulimit -v 150000; ds-embed -m m <ctx.tok >ctx.hid"
check_eq "... into one HIDDEN frame of 163840 rows, whose digest verifies" \
	"$(wc -c <ctx.hid | tr -d ' ') $(ds-sum <ctx.hid | cut -d' ' -f3-)" "209715296 frame 0 HIDDEN seq 0 pos 0"
printf '0\n' | ds-cat --from-ids | ds-embed -m m | tail -c +65 | head -c 1280 >row0
check "... and whose rows are the ones a short frame gets" sh -c "tail -c 1312 ctx.hid | head -c 1280 | cmp -s - row0"
{ hidden_header 163841 0; head -c $((163841 * 1280)) /dev/zero; } >hctx
expect_fail 65 "under a 150 MB limit ds-forward refuses 163841 HIDDEN rows (210 MB) without reading them" \
	sh -c "ulimit -v 150000; ds-forward -m m <hctx"
