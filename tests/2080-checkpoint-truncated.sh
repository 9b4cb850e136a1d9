# A checkpoint truncated while a tool has it mapped (a download or a
# ds-mkmodel run over it): the next read of a page the file no longer backs
# is exit 74 with a message naming the file and the byte, never SIGBUS.
# The tool is fed through a FIFO: one frame that it answers (so the model
# is mapped and in use), then the cut, then a frame that needs the weights.
. "$DS_TESTS/lib.sh"

cd "$T"
ds-mkmodel -q -p tiny-v3 -o m
mkfifo in
# run_cut NAME STAGE-INPUT-1 STAGE-INPUT-2 CMD...: rc and stderr of CMD
run_cut() {
	name=$1 f1=$2 f2=$3
	shift 3
	"$@" <in >"$name.out" 2>"$name.err" &
	pid=$!
	exec 3>in
	cat "$f1" >&3
	i=0
	while [ ! -s "$name.out" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	check "$name answers the first frame" test -s "$name.out"
	truncate -s 4096 m/model.safetensors
	cat "$f2" >&3
	exec 3>&-
	set +e
	wait $pid
	rc=$?
	set -e
	check_eq "$name: a read past the cut is exit 74, not SIGBUS" "$rc" 74
	check "$name: ... with a message naming the file and the byte" \
		grep -q "^ds-$name: m/model.safetensors: cannot read byte [0-9]* of the mapped file" "$name.err"
}

printf '5 6\n' | ds-cat --from-ids >t1
printf '300\n' | ds-cat --from-ids --pos 2 >t2
run_cut embed t1 t2 ds-embed -m m

ds-mkmodel -q -p tiny-v3 -o m
ds-embed -m m <t1 >h1
ds-embed -m m <t2 >h2
run_cut forward h1 h2 ds-forward -m m -t 1 --no-batch

# a sparse checkpoint on a full tmpfs (root only): reading a hole needs a
# page the file system cannot give, which is SIGBUS too
if [ "$(id -u)" = 0 ] && mkdir full && mount -t tmpfs -o size=2m ds-test full 2>/dev/null; then
	trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"; true' EXIT
	ds-mkmodel -q -p tiny-v3 -o m
	mkdir full/m
	cp m/config.json full/m/
	hl=$(head -c 8 m/model.safetensors | od -An -tu8 | tr -d ' ')
	head -c $((8 + hl)) m/model.safetensors >full/m/model.safetensors
	truncate -s "$(wc -c <m/model.safetensors)" full/m/model.safetensors
	dd if=/dev/zero of=full/fill bs=4k 2>/dev/null || true
	expect_fail 74 "a sparse checkpoint on a full tmpfs is exit 74" sh -c "ds-embed -m full/m <t1"
	check "... naming the file" grep -q "full/m/model.safetensors: cannot read byte" "$T/.xf.err"
	umount full
	trap 'rm -rf "$T"' EXIT
else
	skip "a sparse checkpoint on a full tmpfs" "needs root to mount a small tmpfs"
fi
