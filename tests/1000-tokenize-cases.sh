# ds-tokenize --jsonl against the reference's ids: ../shared/tokenizer/cases.jsonl
# (skipped when ../shared is absent) and our HF-generated edge cases.
. "$DS_TESTS/lib.sh"
TOK="$DS_TESTS/../share/deepseek-v3/tokenizer.json"

# expected: the "ids" arrays, without spaces; got: ds-tokenize's arrays
ids_of() { sed 's/.*"ids": *\(\[[^]]*\]\)}$/\1/; s/ //g' "$1"; }

run_cases() {	# name file
	ids_of "$2" >"$T/want"
	if ds tokenize -t "$TOK" --jsonl <"$2" >"$T/got" 2>"$T/err"; then
		n=$(wc -l <"$T/want"); bad=$(paste -d'\n' "$T/got" "$T/want" | paste - - | awk -F'\t' '$1 != $2' | wc -l)
		echo "# measured $1: $((n - bad))/$n identical"
		check_eq "$1: every case gives the reference's ids" "$bad" "0"
	else
		echo "not ok - $1: ds-tokenize failed"; sed 's/^/#   /' "$T/err"
	fi
}

if [ -f "$SHARED/tokenizer/cases.jsonl" ]; then
	run_cases "shared cases.jsonl" "$SHARED/tokenizer/cases.jsonl"
else
	skip "shared cases.jsonl" "no ../shared/tokenizer/cases.jsonl here"
fi
run_cases "edge-cases.jsonl" "$DS_TESTS/reference/tokenizer/edge-cases.jsonl"

# --jsonl adds BOS by tokenizer_config.json's rule (-m reads it), and --bos/--no-bos override
printf '{"text":"Hello, world!"}\n' >"$T/one.jsonl"
check_eq "--jsonl with -m adds BOS (add_bos_token true)" \
	"$(ds tokenize -m "$DS_TESTS/../share/deepseek-v3" --jsonl <"$T/one.jsonl")" "[0,19923,14,2058,3]"
check_eq "--jsonl with -t adds none" "$(ds tokenize -t "$TOK" --jsonl <"$T/one.jsonl")" "[19923,14,2058,3]"
check_eq "--jsonl --no-bos" "$(ds tokenize -m "$DS_TESTS/../share/deepseek-v3" --jsonl --no-bos <"$T/one.jsonl")" "[19923,14,2058,3]"
check_eq "--jsonl --bos with -t" "$(ds tokenize -t "$TOK" --bos --jsonl <"$T/one.jsonl")" "[0,19923,14,2058,3]"
printf '{"id":7,"text":"a\\u0000b","meta":{"x":[1,2]}}\n' >"$T/nul.jsonl"
check_eq "--jsonl: other members ignored, U+0000 kept" "$(ds tokenize -t "$TOK" --jsonl <"$T/nul.jsonl")" "[67,191,68]"
printf '{"txt":"no"}\n{"text":"ok"}\n' >"$T/bad.jsonl"
expect_fail 65 "--jsonl: a line without \"text\" is an error" ds tokenize -t "$TOK" --jsonl "$T/bad.jsonl"
printf 'not json\n{"text":"ok"}\n' >"$T/bad2.jsonl"
expect_fail 65 "--jsonl: a line that is not JSON is an error" ds tokenize -t "$TOK" --jsonl "$T/bad2.jsonl"
