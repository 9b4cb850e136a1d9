# The README's two set-up commands: the first is run exactly as written (it
# builds and runs the main job on the trained demo model: a continuation and
# one chat turn); the second is what .ci/run runs.
. "$DS_TESTS/lib.sh"
top="$DS_TESTS/.."
first=$(sed -n '/<!-- setup-1 -->/,/^```$/p' "$top/README.md" | sed -n '/^```sh$/,/^```$/p' | sed '1d;$d')
second=$(sed -n '/<!-- setup-2 -->/,/^```$/p' "$top/README.md" | sed -n '/^```sh$/,/^```$/p' | sed '1d;$d')
check_eq "the README's first command is one line" "$(printf '%s\n' "$first" | wc -l | tr -d ' ')" 1
check_eq "the README's second command is what .ci/run runs" "exec $second" "$(grep '^exec ' "$top/.ci/run")"
check "the suite's runner ends with the summary line" sh -c "tail -n 3 '$top/tests/run.sh' | grep -q 'passed, .* failed, .* skipped'"
if [ "${DS_ASAN:-}" = 1 ]; then
	skip "the README's first command runs" "under make asan it would rebuild the normal tools"
	exit 0
fi
set +e
(cd "$top" && timeout 600 sh -c "$first") >"$T/out" 2>"$T/err"
rc=$?
set -e
check_eq "the README's first command exits 0" "$rc" 0
check "it printed generated text" test -s "$T/out"
check "the continuation reported 32 generated tokens" grep -q 'generated 32 tokens' "$T/err"
check "the chat turn ended at the end-of-sentence token" grep -q 'stop: eos$' "$T/err"
# the text is the trained model's greedy text that tests/4110 pins
M="$top/data/demo-model"
while IFS= read -r line; do
	name=$(printf '%s' "$line" | sed 's/.*"name": "\([^"]*\)".*/\1/')
	printf '%s' "$line" | sed 's/.*"ids": \[\([^]]*\)\].*/\1/; s/,//g' |
		ds tokenize -m "$M" -d -f text --skip-special | head -n 1 >"$T/$name.first"
	check "it printed the $name text ($(head -c 60 "$T/$name.first"))" grep -qF -f "$T/$name.first" "$T/out"
done <"$DS_TESTS/fixtures/demo-model/greedy.jsonl"
sed 's/^/# measured demo: /' "$T/out" | head -n 12
