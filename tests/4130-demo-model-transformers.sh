# The trained demo model against transformers, live (train/verify.py: the
# training script's eval and check stages redone from the committed
# checkpoint and fixtures): HF tokenizers' ids and the V3 chat template on the
# held-out text and prompts; transformers' held-out perplexity equals
# expected.json and its greedy ids equal greedy.jsonl; dspipe's logits and MTP
# logits equal transformers' within 1e-4 of max |logit|, ds-score's perplexity
# within 1e-4 relative, ds-route --stats the router's expert load; ds-sum -c
# accepts the manifest.  Skipped without DS_PYTHON naming a Python with
# train/requirements.txt.
. "$DS_TESTS/lib.sh"
top="$DS_TESTS/.."
if ! have_python_ref transformers || ! have_python_ref jinja2; then
	skip "the demo model against transformers" "set DS_PYTHON to a python with train/requirements.txt"
	exit 0
fi
rc=0
"$DS_PYTHON" "$top/train/verify.py" --bin "$DS_BIN" >"$T/report.json" 2>"$T/err" || rc=$?
sed 's/^/# /' "$T/err" | tail -n 5
check_eq "train/verify.py: every check against transformers holds" "$rc" 0
get() { "$DS_PYTHON" -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$T/report.json" "$1"; }
if [ "$rc" = 0 ]; then
	echo "# measured logits vs transformers: max rel $(get 'r["tools"]["logits_max_rel"]'), MTP $(get 'r["tools"]["mtp_logits_max_rel"]')"
	echo "# measured ds-score perplexity $(get 'r["tools"]["ds_score"]["perplexity"]') vs transformers $(get 'r["transformers"]["perplexity"]')"
	check_eq "no argmax differs from transformers' on the held-out text" \
		"$(get 'r["tools"]["argmax_differences"]')" "{'main': 0, 'mtp': 0}"
	check_eq "ds-route --stats counts what transformers' router chose" \
		"$(get 'sorted(set(r["ds_route_vs_transformers_count_differences"].values()))')" "[0]"
fi
