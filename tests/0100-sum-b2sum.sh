# ds-sum: the same lines as b2sum -l 256 (escapes, stdin, several files),
# missing files, -c on b2sum's own manifests, frame streams, and tensor /
# model digests of a checkpoint with -c catching a flipped byte.
. "$DS_TESTS/lib.sh"

cd "$T"
printf 'hello\n' >a.txt
printf '' >empty
head -c 100000 /dev/zero | tr '\0' 'x' >big
printf 'b' >'back\slash'
printf 'n' >"$(printf 'new\nline')"
printf 'r' >"$(printf 'carriage\rreturn')"

if command -v b2sum >/dev/null 2>&1; then
	for f in a.txt empty big 'back\slash' "$(printf 'new\nline')" "$(printf 'carriage\rreturn')"; do
		b2sum -l 256 "$f" >want 2>&1
		ds sum "$f" >got 2>&1
		check_files "same line as b2sum for '$(printf '%s' "$f" | tr '\n\r' '??')'" got want
	done
	b2sum -l 256 a.txt empty big >want
	ds sum a.txt empty big >got
	check_files "several files in order" got want
	b2sum -l 256 <a.txt >want
	ds sum <a.txt >got
	check_files "stdin is '-'" got want
	b2sum -l 256 - - <a.txt >want
	ds sum - - <a.txt >got
	check_files "'-' twice: the second reads an exhausted stdin" got want
	b2sum -l 256 a.txt 'back\slash' "$(printf 'new\nline')" >manifest
	b2sum -c manifest >want 2>&1
	ds sum -c manifest >got
	check_files "-c on b2sum's manifest prints b2sum -c's lines" got want
else
	skip "comparisons with b2sum" "b2sum not installed"
fi
check_eq "known digest of 'hello\\n' (BLAKE2b-256)" "$(printf 'hello\n' | ds sum)" \
	"$(printf 'hello\n' | b2sum -l 256 2>/dev/null || echo 'b2sum missing')"
check_eq "known digest of nothing" "$(ds sum empty | cut -c1-64)" \
	"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"

set +e
ds sum a.txt missing big >got 2>err
rc=$?
set -e
check_eq "a missing file: exit 66 at the end" "$rc" 66
check_eq "the other files are still digested" "$(wc -l <got | tr -d ' ')" 2
check "the missing file is named on stderr" grep -q "^ds-sum: .*'missing'" err
mkdir adir
expect_fail 74 "a directory is a read error" ds sum adir

ds sum a.txt big >sums
printf 'HELLO\n' >a.txt
set +e
ds sum -c sums >got 2>err
rc=$?
set -e
check_eq "-c: a changed file exits 1" "$rc" 1
check_eq "-c names the mismatch" "$(cat got)" "$(printf 'a.txt: FAILED\nbig: OK')"
check "-c warns with the count" grep -q "1 computed checksum did NOT match" err
check_eq "-q prints only failures" "$(ds sum -q -c sums 2>/dev/null)" "a.txt: FAILED"
printf 'junk\n' >bad.sums
expect_fail 65 "-c on a manifest without one good line" ds sum -c bad.sums
expect_fail 64 "--tensors with -c is a usage error" ds sum --tensors -c x
expect_fail 64 "-m without -c is a usage error" ds sum -m x a.txt

# frame streams
printf '1 2 3\n4 5\n\n' | ds cat --from-ids >frames
ds sum <frames >got
check_eq "one line per frame on a frame stream" "$(cut -c67- got)" \
	"$(printf 'frame 0 TOKENS seq 0 pos 0\nframe 1 TOKENS seq 1 pos 0\nframe 2 TOKENS seq 2 pos 0')"
check_eq "the frame digest is the one the frame carries" "$(head -n 1 got | cut -c1-64)" \
	"$(tail -c +77 frames | head -c 32 | od -An -tx1 | tr -d ' \n')"
ds cat --no-digest -f frames <frames >frames.nodigest
ds sum <frames.nodigest >got2
check_files "the same lines for a stream without digests" got got2
check_eq "--raw digests the bytes" "$(ds sum --raw <frames | cut -c1-64)" "$(ds sum frames | cut -c1-64)"
check_eq "a named file is bytes unless --frames" "$(ds sum --frames frames | cut -c1-64)" "$(cut -c1-64 got)"
ds sum <frames >frames.sums
check_eq "-c verifies frame lines against stdin" "$(ds sum -c frames.sums <frames | grep -c ': OK')" 3
printf '1 2 3\n4 6\n\n' | ds cat --from-ids >frames2
set +e
ds sum -c frames.sums <frames2 >got 2>/dev/null
rc=$?
set -e
check_eq "-c finds the changed frame" "$rc/$(grep FAILED got)" "1/frame 1 TOKENS seq 1 pos 0: FAILED"
head -c 100 frames >trunc
expect_fail 65 "a truncated frame stream is bad data" sh -c "ds-sum <trunc"

# checkpoints
ds mkmodel -q -p tiny-v3 -o m1 --seed 3 --shard-size 1M
ds mkmodel -q -p tiny-v3 -o m2 --seed 3
ds sum --tensors m1 >t1
ds sum --tensors m2 >t2
check_eq "first line names the model" "$(head -n 1 t1)" "# model m1"
check_eq "one line per tensor plus the model line" "$(grep -c '  tensor ' t1)/$(tail -n 1 t1 | cut -c65-)" "265/  model"
check "tensor lines sorted by name" sh -c "grep '  tensor ' t1 | cut -c74- | LC_ALL=C sort -c"
check_eq "tensor and model digests do not depend on sharding" "$(tail -n +2 t1)" "$(tail -n +2 t2)"
check "but the files differ" sh -c "! cmp -s m1/model-00001-of-00009.safetensors m2/model.safetensors"
check_eq "-c on a tensor manifest" "$(ds sum -c t1 | grep -c ': OK')" 266
check_eq "-m points tensor lines elsewhere" "$(ds sum -c -m m2 t1 | grep -c ': OK')" 266
# flip one byte in the payload of the last shard
f=m1/model-00009-of-00009.safetensors
size=$(wc -c <"$f")
printf '\001' | dd of="$f" bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
set +e
ds sum -c t1 >got 2>/dev/null
rc=$?
set -e
check_eq "-c: a flipped byte fails exactly one tensor and the model" "$rc/$(grep -c FAILED got)" "1/2"
check "the failed tensor is named" grep -q '^tensor .*: FAILED$' got
check "the model line fails" grep -qx 'model: FAILED' got
expect_fail 66 "--tensors on a missing directory" ds sum --tensors nowhere

# hostile tensor names: a newline, a backslash, an ANSI escape, a C1 CSI
# (U+009B).  Lines come escaped as b2sum escapes file names (the leading
# backslash, \n, \\), with the other control characters as \xHH, so the
# manifest keeps one line per tensor, nothing raw reaches a terminal, and
# -c reads the names back.
le8() { v=$1 i=0; while [ $i -lt 8 ]; do printf "\\$(printf '%03o' $((v & 255)))"; v=$((v >> 8)) i=$((i + 1)); done; }
H='{"a\nb\\c\u001b[31md\u009be":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"plain":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
{ le8 "${#H}"; printf '%s' "$H"; printf '\001\002\003\004\005\006\007\010'; } >hostile.safetensors
ds sum --tensors hostile.safetensors >hostile.sums
check_eq "one line per tensor, plus the model lines" "$(wc -l <hostile.sums | tr -d ' ')" 4
check "no control character reaches the output raw" sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' hostile.sums && ! grep -q \"\$(printf '\\302\\233')\" hostile.sums"
check_eq "the escaped line" "$(sed -n 2p hostile.sums | sed 's/^\\[0-9a-f]\{64\}/\\/')" '\  tensor a\nb\\c\x1b[31md\xc2\x9be'
if command -v b2sum >/dev/null 2>&1; then
	printf 'x' >"$(printf 'a\nb\\c')"
	check_eq "newline and backslash escaped as b2sum escapes a file of that name" \
		"$(b2sum -l 256 "$(printf 'a\nb\\c')" | sed 's/^\(.\).*  /\1 /')" "$(sed -n 2p hostile.sums | sed 's/^\(.\).*  tensor /\1 /' | cut -c1-9)"
else
	skip "escapes as b2sum's" "b2sum not installed"
fi
check "-c reads the escaped names back" ds sum -c hostile.sums
check_eq "... and says so in the same form" "$(ds sum -c hostile.sums | head -n 1)" '\tensor a\nb\\c\x1b[31md\xc2\x9be: OK'
sed '2s/^\\[0-9a-f]\{64\}/\\0000000000000000000000000000000000000000000000000000000000000000/' hostile.sums >tampered.sums
set +e; ds sum -c tampered.sums >got 2>/dev/null; rc=$?; set -e
check_eq "-c catches a changed digest on an escaped line" "$rc/$(grep FAILED got)" '1/\tensor a\nb\\c\x1b[31md\xc2\x9be: FAILED'
mkdir "$(printf 'dir\nname')"
cp hostile.safetensors "$(printf 'dir\nname')/"
ds sum --tensors "$(printf 'dir\nname')/hostile.safetensors" >dir.sums
check_eq "a model path with a newline is escaped too" "$(head -n 1 dir.sums)" '\# model dir\nname/hostile.safetensors'
check "... and read back" ds sum -c dir.sums
