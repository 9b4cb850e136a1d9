# ds-score against values computed independently by numpy
# (tests/reference/sample/make_score_fixture.py; the committed expected.txt
# is the truth, Python is not needed here): per-token log-likelihoods,
# totals and perplexity, loglikelihood requests split context/continuation
# over two frames each, KL divergence statistics against base logits.
. "$DS_TESTS/lib.sh"
REF="$DS_TESTS/reference/sample"

# jget JSON-LINE PATH: the scalar at PATH ("kld.p99", "logprobs.3")
jget() {
	printf '%s\n' "$1" | awk -v path="$2" '{
		s = $0; n = split(path, part, ".")
		for (i = 1; i <= n; i++) {
			if (part[i] ~ /^[0-9]+$/) {
				sub(/^\[/, "", s); sub(/\].*/, "", s)
				split(s, el, ","); s = el[part[i] + 1]; continue
			}
			p = index(s, "\"" part[i] "\":")
			if (!p) { print "MISSING"; exit }
			s = substr(s, p + length(part[i]) + 3)
		}
		if (s ~ /^[\[{]/) { print "NOT-SCALAR"; exit }
		match(s, /^[^,}\]]*/); print substr(s, 1, RLENGTH)
	}'
}

# compare PREFIX JSON-LINE: every "PREFIX.key value" line of expected.txt
# against the JSON, |got - want| <= 1e-9 * max(1, |want|)
compare() {
	prefix=$1 json=$2 bad="" n=0 worst=0
	while read -r key want; do
		case "$key" in "$prefix".*) ;; *) continue ;; esac
		got=$(jget "$json" "${key#"$prefix".}")
		n=$((n + 1))
		rel=$(awk -v g="$got" -v w="$want" 'BEGIN {
			if (g == w) { print 0; exit }
			if (g !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ || w !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) { print "X"; exit }
			d = g - w; if (d < 0) d = -d; s = w < 0 ? -w : w; if (s < 1) s = 1
			print d / s }')
		if [ "$rel" = X ] || awk -v r="$rel" 'BEGIN { exit !(r > 1e-9) }'; then
			bad="$bad $key=$got(want $want)"
		elif awk -v r="$rel" -v w="$worst" 'BEGIN { exit !(r > w) }'; then
			worst=$rel
		fi
	done <"$REF/expected.txt"
	echo "# measured $prefix: $n values, worst relative difference $worst"
	check_eq "$prefix: $n values match numpy within 1e-9" "${bad# }" ""
	[ "$n" -gt 0 ] || echo "not ok - $prefix: no expected values found"
}

ds cat --from-ids "$REF/tokens.txt" >"$T/tokens.ds"
ds cat --from-text LOGITS "$REF/logits.txt" >"$T/logits.ds"
ds cat --from-text LOGITS "$REF/base.txt" >"$T/base.ds"

# perplexity: TOKENS first (rows scored at once), then LOGITS first (rows wait)
cat "$T/tokens.ds" "$T/logits.ds" >"$T/in.ds"
ds score "$T/in.ds" >"$T/score.json"
check_eq "one line per sequence and a totals line" "$(wc -l <"$T/score.json" | tr -d ' ')" 3
compare seq0 "$(grep '^{"seq":0,' "$T/score.json")"
compare seq1 "$(grep '^{"seq":1,' "$T/score.json")"
compare total "$(grep '^{"sequences"' "$T/score.json")"
cat "$T/logits.ds" "$T/tokens.ds" | ds score >"$T/score2.json"
check_files "LOGITS before their TOKENS give the same report" "$T/score.json" "$T/score2.json"
ds score --brief "$T/in.ds" >"$T/brief.json"
check "--brief leaves the per-token arrays out" sh -c "! grep -q logprobs '$T/brief.json' && grep -q perplexity '$T/brief.json'"

# loglikelihood requests: context TOKENS, its LOGITS, continuation TOKENS at
# pos = context length, its LOGITS (the context's last row waits for them)
for r in 0 1; do
	c=$(wc -w <"$REF/req$r.ctx" | tr -d ' ')
	ds cat --from-ids --seq $r "$REF/req$r.ctx"
	ds cat --from-text LOGITS --seq $r "$REF/req$r.logits-ctx"
	ds cat --from-ids --seq $r --pos "$c" "$REF/req$r.cont"
	ds cat --from-text LOGITS --seq $r --pos "$c" "$REF/req$r.logits-cont"
done >"$T/req.ds"
ds score --requests "$T/req.ds" >"$T/req.json"
check_eq "one line per request" "$(wc -l <"$T/req.json" | tr -d ' ')" 2
for r in 0 1; do
	line=$(grep "^{\"seq\":$r," "$T/req.json")
	compare "req$r" "$line"
	check_eq "request $r is_greedy" "$(jget "$line" is_greedy)" "$(awk -v k="req$r.is_greedy" '$1 == k { print $2 }' "$REF/expected.txt")"
done

# KL divergence against base logits
ds score --kl "$T/base.ds" "$T/in.ds" >"$T/kl.json"
compare kl "$(cat "$T/kl.json")"
ds score --kl "$T/logits.ds" "$T/in.ds" >"$T/self.json"
check_eq "KL of a run against itself is 0" "$(jget "$(cat "$T/self.json")" kld.max)" 0
check_eq "top-1 agreement with itself is 100%" "$(jget "$(cat "$T/self.json")" top1_agreement_pct)" 100

# inputs that do not line up, or miss something
ds cat --from-text LOGITS "$REF/base.txt" --pos 1 >"$T/shifted.ds"
expect_fail 65 "base frames at other positions are refused" ds score --kl "$T/shifted.ds" "$T/in.ds"
head -c 400 "$T/base.ds" >"$T/short.ds"
expect_fail 65 "a truncated base stream is refused" ds score --kl "$T/short.ds" "$T/in.ds"
ds cat --from-text LOGITS "$REF/req0.logits-ctx" >"$T/one.ds"
expect_fail 65 "a base stream with fewer frames is refused" ds score --kl "$T/one.ds" "$T/in.ds"
cat "$T/base.ds" "$T/base.ds" >"$T/two.ds"
expect_fail 65 "a base stream with more frames is refused" ds score --kl "$T/two.ds" "$T/in.ds"
{ ds cat --from-ids "$REF/req0.ctx"; ds cat --from-ids --pos 5 "$REF/req0.cont"; ds cat --from-text LOGITS "$REF/req0.logits-ctx"; } >"$T/noc.ds"
expect_fail 65 "a request whose continuation has no logits is refused" ds score --requests "$T/noc.ds"
echo '1 2 99' | ds cat --from-ids >"$T/big.ds"
printf '0 1\n0 1\n' | ds cat --from-text LOGITS >>"$T/big.ds"
expect_fail 65 "a token outside the vocabulary is refused" ds score "$T/big.ds"
printf '0 nan\n' | ds cat --from-text LOGITS >"$T/nan.ds"
expect_fail 65 "a NaN logit is refused" ds score "$T/nan.ds"
echo garbage >"$T/garbage"
expect_fail 65 "garbage input is refused" ds score "$T/garbage"
expect_fail 66 "a missing input file" ds score "$T/no-such-file"
expect_fail 66 "a missing base file" ds score --kl "$T/no-such-file" "$T/in.ds"
expect_fail 64 "--kl and --requests do not mix" ds score --kl "$T/base.ds" --requests "$T/in.ds"

# LOGITS of an MTP module (aux 1) are not scored
printf '5 -5 0 0 0 0 0 0 0 0 0 0 -inf\n' | ds cat --from-text LOGITS --no-digest --seq 0 --pos 2 >"$T/mtp.ds"
printf '\001' | dd of="$T/mtp.ds" bs=1 seek=12 conv=notrunc 2>/dev/null
cat "$T/in.ds" "$T/mtp.ds" | ds score >"$T/mtp.json"
check_files "MTP LOGITS (aux > 0) are not scored" "$T/mtp.json" "$T/score.json"
