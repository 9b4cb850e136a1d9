# The trained demo model's held-out perplexity through the tools (ds-tokenize
# | ds-cat --from-ids | ds-embed --pass-tokens | ds-forward --head
# --all-positions | ds-score): a regression test against the figure the
# training note reports (transformers' on the same FP8 checkpoint, in
# tests/fixtures/demo-model/expected.json), not a timed one.  The held-out
# books (Ruth, Jonah, Titus, Jude) were never trained on.
. "$DS_TESTS/lib.sh"
M="$DS_TESTS/../data/demo-model"
FX="$FIXTURES/demo-model"
[ -f "$M/config.json" ] || { skip "the demo model's held-out perplexity" "data/demo-model missing"; exit 0; }

# the figures the note reports (perplexity rounded up to 2 decimals)
PPL_MAX=41.73
TOKENS=7659

ds tokenize -m "$M" --jsonl <"$FX/heldout.jsonl" | tr -d '[]' | tr ',' ' ' | ds cat --from-ids |
	ds embed -m "$M" --pass-tokens | ds forward -m "$M" --head --all-positions | ds score -b >"$T/score"
last=$(tail -n 1 "$T/score")
ppl=$(printf '%s' "$last" | sed 's/.*"perplexity":\([0-9.e+-]*\).*/\1/')
count=$(printf '%s' "$last" | sed 's/.*"count":\([0-9]*\).*/\1/')
echo "# measured held-out perplexity through ds-score: $ppl over $count tokens (bound $PPL_MAX)"
check_eq "every held-out token after BOS is scored" "$count" "$TOKENS"
check "held-out perplexity $ppl stays below $PPL_MAX" awk -v p="$ppl" -v b="$PPL_MAX" 'BEGIN { exit !(p > 1 && p < b) }'
want=$(sed -n 's/.*"perplexity": \([0-9.e+-]*\).*/\1/p' "$FX/expected.json" | head -n 1)
check "ds-score's perplexity equals transformers' ($want) within 1e-4 relative" \
	awk -v p="$ppl" -v w="$want" 'BEGIN { d = (p - w) / w; if (d < 0) d = -d; exit !(d < 1e-4) }'
