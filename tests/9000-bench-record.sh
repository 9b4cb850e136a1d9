# ds-bench as llama-bench: comma lists sweep a grid, md (llama-bench's
# columns), csv, json and jsonl output, records with the commit, CPU, RFC
# 3339 time and raw samples, decode against the measured bandwidth and
# prefill GFLOP/s, load with paging in.  (The figures themselves are
# measured by `make bench`, not judged by tests.)
. "$DS_TESTS/lib.sh"
ds mkmodel -q -p tiny-v3 -o "$T/m" --seed 3
B="-m $T/m --bandwidth-mib 64"

# the grid: 2 threads x 2 depths x (2 prefill + 1 decode) tests
ds bench $B -p 8,16 -n 4 -d 0,8 -t 1,2 -r 2 -o jsonl --label test >"$T/rec"
check_eq "jsonl: one line per test of the grid" "$(wc -l <"$T/rec" | tr -d ' ')" 12
check_eq "the tests in llama-bench's order and names" \
	"$(sed 's/.*"test":"\([^"]*\)".*/\1/' "$T/rec" | tr '\n' ',')" \
	"pp8,pp16,tg4,pp8 @ d8,pp16 @ d8,tg4 @ d8,pp8,pp16,tg4,pp8 @ d8,pp16 @ d8,tg4 @ d8,"
check_eq "threads of each record" "$(sed 's/.*"n_threads":\([0-9]*\).*/\1/' "$T/rec" | tr '\n' ' ')" "1 1 1 1 1 1 2 2 2 2 2 2 "
for k in '"build_commit":"' '"cpu_info":"' '"model_size":' '"model_n_params":' '"n_prompt":' '"n_gen":' '"n_depth":' \
	'"avg_ts":' '"stddev_ts":' '"samples_ns":\[' '"samples_ts":\[' '"version":"dspipe ' '"kernels":' '"label":"test"' \
	'"load_s":' '"page_in_s":' '"bandwidth_gb_s":' '"peak_rss_mib":'; do
	check_eq "every record has $k" "$(grep -c "$k" "$T/rec")" 12
done
check_eq "test_time is RFC 3339 (UTC)" \
	"$(grep -c '"test_time":"[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z"' "$T/rec")" 12
check_eq "two samples per record" "$(grep -o '"samples_ts":\[[^]]*\]' "$T/rec" | sed 's/[^,]//g' | sort -u)" ","
check_eq "decode records have a roofline, prefill records GFLOP/s" \
	"$(grep -c '"test":"tg.*"roofline_pct":' "$T/rec") $(grep -c '"test":"pp.*"gflop_s":' "$T/rec")" "4 8"
bw=$(sed -n '1s/.*"bandwidth_gb_s":\([0-9.]*\).*/\1/p' "$T/rec")
check "a bandwidth was measured ($bw GB/s)" awk "BEGIN { exit !($bw > 0) }"
# the weight bytes a decode step reads lie between the head alone and the whole checkpoint
bytes=$(sed -n '3s/.*"bytes_per_token":\([0-9]*\).*/\1/p' "$T/rec")
size=$(wc -c <"$T/m/model.safetensors" | tr -d ' ')
vocab=$(sed -n 's/.*"vocab_size":[^0-9]*\([0-9]*\).*/\1/p' "$T/m/config.json")
hidden=$(sed -n 's/.*"hidden_size":[^0-9]*\([0-9]*\).*/\1/p' "$T/m/config.json")
check "decode bytes exceed lm_head's $((vocab * hidden * 2))" test "$bytes" -gt $((vocab * hidden * 2))
check "decode bytes below the checkpoint's $size" test "$bytes" -lt "$size"
d8=$(sed -n '6s/.*"bytes_per_token":\([0-9]*\).*/\1/p' "$T/rec")
check "at depth 8 a decode step also reads the cache" test "$d8" -gt "$bytes"

# md: llama-bench's columns, one row per test, the machine named below
ds bench $B -p 8 -n 4 -r 2 >"$T/md"
check_eq "md header" "$(head -n 1 "$T/md" | tr -s ' ')" \
	"| model | size | params | backend | threads | test | t/s | GFLOP/s | roofline t/s |"
check_eq "md: one row per test" "$(grep -c '^| deepseek_v3 ' "$T/md")" 2
check "md: t/s as mean ± sd" grep -q '| *[0-9.]* ± [0-9.]* |' "$T/md"
check "md: decode as a share of the roofline" grep -q 'tg4 .*[0-9] % of [0-9.]* |' "$T/md"
check "md: build and cpu named" grep -q '^build: .*; cpu: .*memory read bandwidth' "$T/md"

# csv: a header and one line per test, as many fields in each
ds bench $B -p 8 -n 4 -r 2 -o csv --records "$T/also" >"$T/csv"
check_eq "csv: header + 2 lines" "$(wc -l <"$T/csv" | tr -d ' ')" 3
check_eq "--records appends the same records as JSON lines" "$(grep -c '"build_commit"' "$T/also")" 2
check "csv: llama-bench's field names" grep -q '^build_commit,cpu_info,.*,n_prompt,n_gen,n_depth,.*avg_ts,stddev_ts' "$T/csv"
ds bench $B -p 8 -n 0 -r 2 -o json --prefetch >"$T/json"
check_eq "json: an array of one record" "$(head -c 1 "$T/json")$(tail -n 1 "$T/json") $(grep -c '"build_commit"' "$T/json")" "[] 1"
check "--prefetch is recorded" grep -q '"prefetch":[[:space:]]*"willneed"' "$T/json"
if [ -n "${DS_PYTHON:-}" ]; then
	check "json and jsonl parse" "$DS_PYTHON" -c "import json,sys; json.load(open('$T/json')); [json.loads(l) for l in open('$T/rec')]"
fi

expect_fail 64 "no model" ds bench
expect_fail 66 "missing model" ds bench -m "$T/none"
expect_fail 64 "bad -p" ds bench -m "$T/m" -p 8,x
expect_fail 64 "-t 0" ds bench -m "$T/m" -t 0
expect_fail 64 "bad -o" ds bench -m "$T/m" -o yaml

# --speculative: decoding with and without MTP drafts, the same tokens
ds bench -q -m "$T/m" -p 8 -n 12 -r 2 --speculative 2 --temperature 4 >"$T/spec"
for k in '"speculative":{"drafts":2' '"plain_tok_s":{"median":' '"spec_tok_s":{"median":' '"tokens_per_pass":' \
	'"acceptance":[' '"tokens_identical":true'; do
	check "--speculative record has $k" grep -qF "$k" "$T/spec"
done
check_eq "one acceptance rate per draft position" \
	"$(sed 's/.*"acceptance":\[\([^]]*\)\].*/\1/' "$T/spec" | tr ',' '\n' | wc -l | tr -d ' ')" 2
ds mkmodel -q -p tiny-v2-lite -o "$T/nomtp" --seed 1
expect_fail 78 "--speculative on a model without an MTP module" ds bench -m "$T/nomtp" -p 4 -n 2 -r 1 --speculative 1
