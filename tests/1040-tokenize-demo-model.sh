# The demo model's own tokenizer (data/demo-model, trained by train/train.py
# with DeepSeek-V3's pre-tokenizer and special tokens): ds-tokenize loads it
# unchanged and gives Hugging Face tokenizers' ids on the held-out books
# (tests/fixtures/demo-model/heldout.jsonl, written by the training script),
# adds BOS by its tokenizer_config.json, decodes back to the text, and renders
# the chat prompts the greedy fixtures were made from.
. "$DS_TESTS/lib.sh"
M="$DS_TESTS/../data/demo-model"
FX="$FIXTURES/demo-model"
[ -f "$M/tokenizer.json" ] || { skip "the demo model's tokenizer" "data/demo-model missing"; exit 0; }

sed 's/.*"ids": *\(\[[^]]*\]\)}$/\1/; s/ //g' "$FX/heldout.jsonl" >"$T/want"
ds tokenize -t "$M/tokenizer.json" --jsonl <"$FX/heldout.jsonl" >"$T/got"
n=$(wc -l <"$T/want" | tr -d ' ')
bad=$(paste "$T/got" "$T/want" | awk -F'\t' '$1 != $2' | wc -l | tr -d ' ')
echo "# measured held-out windows: $((n - bad))/$n identical to HF tokenizers"
check_eq "held-out text: ds-tokenize's ids are HF tokenizers' ($n windows)" "$bad" 0
check "the held-out windows are the four held-out books (more than 30 windows)" test "$n" -gt 30

sed 's/^\[/[0,/' "$T/want" >"$T/want.bos"
ds tokenize -m "$M" --jsonl <"$FX/heldout.jsonl" >"$T/got.bos"
check_files "-m adds BOS (id 0) by tokenizer_config.json" "$T/got.bos" "$T/want.bos"

# decoding gives the text back
head -n 1 "$FX/heldout.jsonl" | sed 's/^{"text": *"\(.*\)", *"ids".*$/\1/' >"$T/text.esc"
printf '%b' "$(cat "$T/text.esc")" >"$T/text"	# (the escaped \n at its end is the window's last newline)
tr -d '[]' <"$T/want" | head -n 1 | tr ',' ' ' | ds tokenize -t "$M/tokenizer.json" -d -f text >"$T/back"
check_files "decoding the first window gives its text" "$T/back" "$T/text"

# the chat prompts of the greedy fixtures: V3's template, rendered by ds-tokenize
grep '"chat": true' "$FX/greedy.jsonl" | while IFS= read -r line; do
	prompt=$(printf '%s' "$line" | sed 's/.*"prompt": "\([^"]*\)".*/\1/')
	want=$(printf '%s' "$line" | sed 's/.*"prompt_ids": \[\([^]]*\)\].*/\1/; s/,//g')
	got=$(printf '[{"role":"user","content":"%s"}]' "$prompt" | ds tokenize -m "$M" --chat --generation-prompt -f text)
	check_eq "chat prompt '$prompt': the ids the training script used" "$got" "$want"
done
special=$(printf '0 1 6 7 3 8' | ds tokenize -t "$M/tokenizer.json" -d -f text --skip-special)
check_eq "--skip-special drops BOS, EOS and <|EOT|>, keeps the chat-role and FIM tokens (V3's flags)" \
	"$special" "<｜User｜><｜Assistant｜><｜fim▁hole｜>"
