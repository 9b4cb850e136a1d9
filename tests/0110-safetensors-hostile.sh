# Hostile checkpoints and frames: each broken file is refused with the
# sysexits code and a "ds-NAME: ..." message, never a crash or garbage.
# Checkpoints go through `ds-sum --tensors` (the loader's command-line
# front end), frames through ds-cat.
. "$DS_TESTS/lib.sh"

cd "$T"
le8() {	# the 8 little-endian bytes of $1
	v=$1 i=0
	while [ $i -lt 8 ]; do
		printf "\\$(printf '%03o' $((v & 255)))"
		v=$((v >> 8)) i=$((i + 1))
	done
}
mkst() {	# FILE HEADER DATA_BYTES [CLAIMED_HEADER_LENGTH]
	{ le8 "${4:-${#2}}"; printf '%s' "$2"; head -c "$3" /dev/zero; } >"$1"
}
refuse() {	# CODE DESC HEADER DATA_BYTES [CLAIMED_LENGTH]
	mkst bad.safetensors "$3" "$4" ${5:-}
	expect_fail "$1" "$2" ds-sum --tensors bad.safetensors
	grep -q 'bad.safetensors' "$T/.xf.err" || echo "not ok - $2: the message names the file"
}
T1='"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}'

mkst good.safetensors "{$T1}" 8
check "a valid file opens" ds-sum --tensors good.safetensors
mkst pad.safetensors "{$T1}    " 8
check "a header padded with spaces opens" ds-sum --tensors pad.safetensors

: >empty.safetensors
expect_fail 65 "an empty file" ds-sum --tensors empty.safetensors
printf 'abcde' >short.safetensors
expect_fail 65 "a file shorter than the length field" ds-sum --tensors short.safetensors
refuse 65 "header length beyond the file" "{$T1}" 8 5000
refuse 65 "absurd header length (2^40)" "{$T1}" 8 1099511627776
refuse 65 "header length 0" "{$T1}" 8 0
refuse 65 "header not JSON" "{$T1" 8
refuse 65 "header a list, not an object" "[$T1]" 8
refuse 65 "junk after the header object" "{$T1}xx" 8
refuse 65 "an entry that is not an object" '{"a":[1]}' 0
refuse 65 "unknown dtype" '{"a":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,8]}}' 8
refuse 65 "missing dtype" '{"a":{"shape":[2],"data_offsets":[0,8]}}' 8
refuse 65 "negative shape" '{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}' 8
refuse 65 "non-integer shape" '{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}' 8
refuse 65 "overflowing shape" '{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}' 8
refuse 65 "shape beyond 2^53" '{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}}' 8
refuse 65 "missing data_offsets" '{"a":{"dtype":"F32","shape":[2]}}' 8
refuse 65 "offsets reversed" '{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}' 8
refuse 65 "offsets past the end" '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}' 8
refuse 65 "offsets not matching shape x dtype" '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}' 8
refuse 65 "overlapping tensors" \
	'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}' 12
refuse 65 "a hole in the data" \
	'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}' 12
refuse 65 "bytes after the last tensor" "{$T1}" 12
refuse 65 "duplicate names" \
	'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
refuse 65 "non-string metadata" "{\"__metadata__\":{\"format\":1},$T1}" 8
refuse 65 "FP8 weight without scales" '{"w":{"dtype":"F8_E4M3","shape":[200,300],"data_offsets":[0,60000]}}' 60000
refuse 65 "FP8 weight with mis-shaped scales" \
	'{"w":{"dtype":"F8_E4M3","shape":[200,300],"data_offsets":[24,60024]},"w_scale_inv":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}}' 60024
mkst ok8.safetensors \
	'{"w":{"dtype":"F8_E4M3","shape":[200,300],"data_offsets":[24,60024]},"w_scale_inv":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}' 60024
check "FP8 weight with [2, 3] scales for [200, 300] opens" ds-sum --tensors ok8.safetensors

# the header's text, as strictly as the reference loader (the Rust
# safetensors crate) reads it; each file is kept for the live comparison
E='"dtype":"F32","shape":[1],"data_offsets":[0,4]'
strict() {	# CODE NAME DESC HEADER
	mkst "x-$2.safetensors" "$4" 4
	if [ "$1" = 0 ]; then
		check "$3 opens" ds-sum --tensors "x-$2.safetensors"
	else
		expect_fail "$1" "$3 is refused" ds-sum --tensors "x-$2.safetensors"
	fi
}
strict 65 badutf8 "a name that is not UTF-8" "{\"a$(printf '\377')b\":{$E}}"
strict 65 badmeta "metadata that is not UTF-8" "{\"__metadata__\":{\"k\":\"$(printf '\303')\"},\"a\":{$E}}"
strict 65 overlong "an overlong UTF-8 form" "{\"a$(printf '\300\257')\":{$E}}"
strict 65 cesu "a surrogate written as UTF-8 bytes" "{\"a$(printf '\355\240\200')\":{$E}}"
strict 65 nul "a name with \\u0000 (a C string cannot hold it)" "{\"a\\u0000b\":{$E}}"
check "... saying so" grep -q "holds U+0000" "$T/.xf.err"
strict 65 rawctl "a raw control character in a name" "{\"a$(printf '\001')b\":{$E}}"
strict 65 lowsurr "a lone low surrogate escape" "{\"a\\udc00\":{$E}}"
strict 65 highsurr "a lone high surrogate escape" "{\"a\\ud800b\":{$E}}"
strict 65 formfeed "a form feed as white space" "{\"a\":{$E}$(printf '\014')}"
strict 65 lead0 "a number with a leading zero" '{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}'
strict 65 float "a shape written 1.0" '{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}'
strict 65 exp "an offset written 4e0" '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}'
strict 65 dupfield "a field given twice in an entry" "{\"a\":{\"dtype\":\"F32\",$E}}"
strict 0 pair "a name with an escaped surrogate pair" "{\"a\\ud83d\\ude00\":{$E}}"
strict 0 utf8 "a name in UTF-8 (é, €, an emoji)" "{\"é€😀\":{$E}}"
strict 0 escnl "a name with an escaped newline, backslash and ESC" "{\"a\\nb\\\\c\\u001b[0m\":{$E}}"
strict 0 extra "an entry with an unknown member holding a float" "{\"a\":{$E,\"x\":-0.5e+3}}"
strict 0 metanull "__metadata__ null" "{\"__metadata__\":null,\"a\":{$E}}"
refuse 65 "a duplicate name holding an ANSI escape and a newline" \
	'{"a\u001b[31m\nx":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a\u001b[31m\nx":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
check_eq "... the message is one line, the escape written \\x1b" "$(cat "$T/.xf.err")" \
	"ds-sum: bad.safetensors: duplicate tensor name 'a\\x1b[31m\\x0ax'"
if have_python_ref safetensors; then
	for f in x-*.safetensors; do
		[ "$f" = x-nul.safetensors ] && continue	# refused here on purpose (see above)
		ref=$("$DS_PYTHON" -c 'import sys
from safetensors.numpy import load_file
try:
    load_file(sys.argv[1]); print(0)
except Exception:
    print(65)' "$f")
		set +e; ds-sum --tensors "$f" >/dev/null 2>&1; got=$?; set -e
		check_eq "the reference loader agrees on $f" "$got" "$ref"
	done
else
	skip "the reference loader agrees on every header" "set DS_PYTHON to a python with safetensors"
fi

# sharded checkpoints: the index
mkdir ck ck/sub
mkst ck/a.safetensors "{$T1}" 8
mkst ck/sub/b.safetensors '{"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}' 6
index() { printf '{"metadata":{"total_size":14},"weight_map":{"a":"a.safetensors","b":"sub/b.safetensors"%s}}' "$1" \
	>ck/model.safetensors.index.json; }
index ''
check "a sharded checkpoint with a shard in a subdirectory opens" ds-sum --tensors ck
index ',"c":"c.safetensors"'
expect_fail 66 "the index names a missing shard" ds-sum --tensors ck
index ',"c":"../good.safetensors"'
expect_fail 65 "a shard path with .. is refused" ds-sum --tensors ck
index ',"c":"/etc/passwd"'
expect_fail 65 "an absolute shard path is refused" ds-sum --tensors ck
index ',"c":"a.safetensors"'
expect_fail 65 "a tensor absent from its shard" ds-sum --tensors ck
check "the absent tensor is named" grep -q "'c'" "$T/.xf.err"
printf '{"weight_map":' >ck/model.safetensors.index.json
expect_fail 65 "an index that is not JSON" ds-sum --tensors ck
printf '{"weight_map":{"a":7}}' >ck/model.safetensors.index.json
expect_fail 65 "a weight_map value that is not a string" ds-sum --tensors ck
rm ck/model.safetensors.index.json
expect_fail 66 "a directory without a checkpoint" ds-sum --tensors ck

# frames, through ds-cat
printf '1 2 3\n' | ds-cat --from-ids >f
patch() {	# FILE OFFSET OCTAL-BYTE: a copy with one byte replaced
	cp f "$1"
	printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
check "the unmodified frame reads" sh -c "ds-cat <f >/dev/null"
patch magic 0 130
expect_fail 65 "frame with a bad magic" sh -c "ds-cat <magic"
patch version 4 002
expect_fail 65 "frame with an unknown version" sh -c "ds-cat <version"
patch dtype 7 356
expect_fail 65 "frame with an unknown dtype" sh -c "ds-cat <dtype"
patch payload 64 377
expect_fail 65 "frame whose digest does not match" sh -c "ds-cat <payload"
check "the digest failure is named" grep -q "digest mismatch" "$T/.xf.err"
head -c 70 f >trunc
expect_fail 65 "a truncated frame" sh -c "ds-cat <trunc"
patch ndim 10 011
expect_fail 65 "frame with ndim 9" sh -c "ds-cat <ndim"
