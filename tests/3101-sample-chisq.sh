# ds-sample's draws through the tool, judged by chi-square goodness of fit
# at significance 0.001: 20000 LOGITS frames (one per sequence, so one
# draw from each sequence's stream) at temperature 1 against softmax, and
# with top-k / top-p / min-p: excluded tokens never drawn, kept ones in
# their renormalised proportions.  The awk judge is shown to reject a wrong
# distribution (negative control), so these checks can fail.
. "$DS_TESTS/lib.sh"

Z="0.5 -1 2 0 1.3 -0.2 0.7 -2"
N=20000
awk -v z="$Z" -v n=$N 'BEGIN { for (i = 0; i < n; i++) printf "%s\n\n", z }' |
	ds cat --from-text LOGITS >"$T/z.ds"

# judge WHAT T KEEP: counts of ids on stdin against softmax(z / T) restricted
# to the ids listed in KEEP ("all" for every id); prints "stat df crit excl"
judge() {
	awk -v z="$Z" -v T="$2" -v keep="$3" '
	{ c[$1]++; n++ }
	END {
		V = split(z, x, " ")
		m = -1e30; for (i = 1; i <= V; i++) if (x[i] > m) m = x[i]
		for (i = 1; i <= V; i++) k[i - 1] = (keep == "all")
		if (keep != "all") { K = split(keep, kk, ","); for (j = 1; j <= K; j++) k[kk[j]] = 1 }
		S = 0; for (i = 0; i < V; i++) if (k[i]) { p[i] = exp((x[i + 1] - m) / T); S += p[i] }
		stat = 0; df = -1; excl = 0
		for (i = 0; i < V; i++) {
			if (!k[i]) { excl += c[i]; continue }
			e = n * p[i] / S; stat += (c[i] - e) ^ 2 / e; df++
		}
		split("10.828 13.816 16.266 18.467 20.515 22.458 24.322", crit, " ")
		printf "%.3f %d %s %d\n", stat, df, crit[df], excl
	}'
}

# run OPTIONS T KEEP WHAT
run() {
	ds sample $1 "$T/z.ds" | ds cat -f ids >"$T/ids"
	judge "$4" "$2" "$3" <"$T/ids" >"$T/j"
	read -r stat df crit excl <"$T/j"
	echo "# measured chi2 $4: $stat (df $df, critical $crit at p=0.001, N=$N, excluded drawn $excl)"
	check "$4: draws fit (chi2 $stat < $crit)" awk -v s="$stat" -v c="$crit" 'BEGIN { exit !(s < c) }'
	[ "$3" = all ] || check_eq "$4: excluded tokens never drawn" "$excl" 0
}

run "-t 1 --seed 5" 1 all "T=1 vs softmax"
judge "negative control" 1.15 all <"$T/ids" >"$T/j"
read -r stat df crit excl <"$T/j"
echo "# measured chi2 T=1 draws vs softmax(z/1.15) (must fail): $stat (critical $crit)"
check "negative control: T=1 draws are rejected against softmax(z/1.15)" awk -v s="$stat" -v c="$crit" 'BEGIN { exit !(s > c) }'
run "-t 0.7 --seed 6" 0.7 all "T=0.7 vs softmax(z/0.7)"
# softmax(z) ranks ids 2 4 6 0 3 5 1 7 (p = .434 .215 .118 .097 .059 .048 .022 .008)
run "-t 1 -k 3 --seed 7" 1 "2,4,6" "top-k 3"
run "-t 1 -p 0.7 --seed 8" 1 "2,4,6" "top-p 0.7"
run "-t 1 --min-p 0.2 --seed 9" 1 "2,4,6,0" "min-p 0.2"
judge "negative control 2" 1 all <"$T/ids" >"$T/j"
read -r stat df crit excl <"$T/j"
echo "# measured min-p draws vs the unfiltered softmax (must fail): $stat, excluded drawn $excl"
check "negative control: min-p draws are rejected against the unfiltered softmax" awk -v s="$stat" -v c="$crit" 'BEGIN { exit !(s > c) }'
