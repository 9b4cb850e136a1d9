# ds-cat: text ids -> TOKENS frames -> text, the text view, .npy export.
. "$DS_TESTS/lib.sh"

printf '0 19923 14 2058 3\n\n5,6,7\n' >"$T/ids.txt"
check "ids to frames" sh -c "ds-cat --from-ids <'$T/ids.txt' >'$T/frames'"
ds-cat -f ids <"$T/frames" >"$T/back.txt"
printf '0 19923 14 2058 3\n\n5 6 7\n' >"$T/want.txt"
check_files "frames back to ids (blank line = empty sequence)" "$T/back.txt" "$T/want.txt"

ds-cat -f header <"$T/frames" >"$T/hdr.txt"
check_eq "header view" "$(sed -n 3p "$T/hdr.txt")" "frame 2: TOKENS i32 [3] seq 2 pos 0 final digest"
check_eq "text view values" "$(ds-cat <"$T/frames" | sed -n 2p)" "0 19923 14 2058 3"
check_eq "--seq numbers lines from N" "$(echo 1 | ds-cat -i --seq 41 | ds-cat -f header)" \
	"frame 0: TOKENS i32 [1] seq 41 pos 0 final digest"
check "-f frames passes a stream on byte for byte" sh -c "ds-cat -f frames <'$T/frames' | cmp - '$T/frames'"
check_eq "--no-digest drops the digest" "$(ds-cat --no-digest -f frames <"$T/frames" | wc -c | tr -d ' ')" \
	$(( (64 + 20) + 64 + (64 + 12) ))
check "two files are read in turn" sh -c "ds-cat -f ids '$T/frames' - <'$T/frames' | wc -l | grep -qx 6"

ds-cat --npy "$T/a.npy" <"$T/frames"
check_eq ".npy magic and version" "$(head -c 8 "$T/a.npy" | od -An -c | tr -s ' ')" " 223 N U M P Y 001 \\0"
check_eq ".npy header dict" "$(head -c 128 "$T/a.npy" | tail -c +11 | tr -d '\0' | head -n 1 | sed 's/ *$//')" \
	"{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }"
check_eq ".npy is 64-byte aligned + payload" "$(wc -c <"$T/a.npy" | tr -d ' ')" $((128 + 20))
ds-cat --npy "$T/c.npy" -n 2 <"$T/frames"
check_eq "--frame picks the frame" "$(wc -c <"$T/c.npy" | tr -d ' ')" $((128 + 12))

PY=
for p in ${DS_PYTHON:-} python3 /usr/bin/python3; do	# `make deps` installs Debian's python3-numpy
	if "$p" -c 'import numpy' 2>/dev/null; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
	check_eq "numpy.load reads the .npy" "$("$PY" -c "import numpy,sys; a=numpy.load(sys.argv[1]); print(a.dtype, a.shape, a.tolist())" "$T/a.npy")" \
		"int32 (5,) [0, 19923, 14, 2058, 3]"
else
	skip "numpy.load reads the .npy" "no python with numpy"
fi

expect_fail 65 "junk is not a frame stream" sh -c "echo junk | ds-cat"
expect_fail 65 "a bad id line names its line" sh -c "printf '1 2\n3 x\n' | ds-cat -i >/dev/null"
grep -q 'line 2' "$T/.xf.err" && echo "ok - message names line 2" || echo "not ok - message names line 2"
expect_fail 65 "an id beyond int32" sh -c "echo 4294967296 | ds-cat -i"
expect_fail 66 "missing file" ds-cat "$T/nope"
expect_fail 64 "unknown option" ds-cat --bogus
expect_fail 64 "--max-cols wants a number" ds-cat --max-cols x
expect_fail 65 "truncated stream" sh -c "head -c 100 '$T/frames' | ds-cat"
expect_fail 65 "--npy with no data frame" sh -c "printf '' | ds-cat --npy '$T/x.npy'"
