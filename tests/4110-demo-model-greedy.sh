# The trained demo model (data/demo-model): greedy decoding through the
# generation ring gives exactly the ids transformers' greedy decoding gave on
# the same FP8 checkpoint (tests/fixtures/demo-model/greedy.jsonl, written by
# train/train.py), for a continuation and a chat turn; ds-run prints their
# text; `make install` installs the model so the installed tools run it.
. "$DS_TESTS/lib.sh"
top="$DS_TESTS/.."
M="$top/data/demo-model"
FX="$FIXTURES/demo-model/greedy.jsonl"
[ -f "$M/config.json" ] || { skip "the demo model's greedy runs" "data/demo-model missing"; exit 0; }

field() { printf '%s' "$1" | sed "s/.*\"$2\": \\[\\([^]]*\\)\\].*/\\1/; s/,//g"; }
nf=0
while IFS= read -r line; do
	nf=$((nf + 1))
	name=$(printf '%s' "$line" | sed 's/.*"name": "\([^"]*\)".*/\1/')
	prompt=$(printf '%s' "$line" | sed 's/.*"prompt": "\([^"]*\)".*/\1/')
	n=$(printf '%s' "$line" | sed 's/.*"max_tokens": \([0-9]*\).*/\1/')
	want=$(field "$line" ids)
	# the ring ds-run drives, its sampled TOKENS kept as ids (the tools by
	# name from PATH: through the ds() function inside this loop, dash
	# never finished the ring)
	ring="$T/ring.$name"
	mkfifo "$ring"
	field "$line" prompt_ids | ds-cat --from-ids | cat - "$ring" |
		ds-embed -m "$M" --pass-tokens | ds-forward -m "$M" --head --no-digest |
		ds-sample --max-tokens="$n" --eos=1 | tee "$ring" | ds-cat -f ids >"$T/$name.ids"
	got=$(tr '\n' ' ' <"$T/$name.ids" | sed 's/ *$//')
	check_eq "$name: greedy ids through the ring = transformers' ($(echo "$want" | wc -w | tr -d ' ') tokens)" "$got" "$want"
	# ds-run's text is the decoding of those ids
	case "$line" in *'"chat": true'*) chat=--chat ;; *) chat= ;; esac
	timeout 120 ds-run -q -m "$M" -n "$n" $chat "$prompt" >"$T/$name.txt"
	echo "$want" | ds tokenize -m "$M" -d -f text --skip-special >"$T/$name.want"
	check_files "$name: ds-run prints that text" "$T/$name.txt" "$T/$name.want"
	echo "# measured $name: $(head -c 160 "$T/$name.txt" | tr '\n' ' ')"
done <"$FX"
check_eq "two pinned prompts" "$nf" 2

if [ "${DS_ASAN:-}" = 1 ]; then
	skip "make install runs the demo model" "under make asan it would rebuild the normal tools"
	exit 0
fi
make -s -C "$top" install DESTDIR="$T/inst" PREFIX=/usr >"$T/install.out" 2>&1 || cat "$T/install.out"
IM="$T/inst/usr/share/dspipe/demo-model"
check "make install puts the demo model in share/dspipe/demo-model" test -f "$IM/model.safetensors"
"$T/inst/usr/bin/ds-run" -q -m "$IM" -n 32 "In the beginning" >"$T/inst.txt"
"$DS_BIN/ds-run" -q -m "$M" -n 32 "In the beginning" >"$T/repo.txt"
check_files "the installed tools run the installed model, with the same text" "$T/inst.txt" "$T/repo.txt"
check "the installed model checks against its manifest" "$T/inst/usr/bin/ds-sum" -c -m "$IM" "$IM/tensors.b2sum"
