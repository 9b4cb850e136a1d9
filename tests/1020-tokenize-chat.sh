# ds-tokenize --chat: templates recognised from tokenizer_config.json (V3 in
# share/, R1 from its fixture), forced with --template, and refused when unknown.
. "$DS_TESTS/lib.sh"
SHARE="$DS_TESTS/../share/deepseek-v3"
M="-m $SHARE"

printf '[{"role":"system","content":"You are helpful."},{"role":"user","content":"Hi"}]' >"$T/msgs.json"
check_eq "V3 template recognised; --render" "$(ds tokenize $M --chat --generation-prompt --render <"$T/msgs.json")" \
	"<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜>"
check_eq "V3 chat ids (the template's BOS, no second one)" "$(ds tokenize $M --chat --generation-prompt -f text <"$T/msgs.json")" \
	"0 3476 477 11502 16 128803 23166 128804"
mkdir "$T/r1"
ln -s "$SHARE/tokenizer.json" "$T/r1/tokenizer.json"
cp "$DS_TESTS/fixtures/tokenizer/r1/tokenizer_config.json" "$T/r1/"
ds tokenize -m "$T/r1" --chat --generation-prompt --render <"$T/msgs.json" >"$T/r1.txt"
printf '<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜><think>\n' >"$T/r1.want"
check_files "R1 template recognised: the generation prompt opens <think>" "$T/r1.txt" "$T/r1.want"
check_eq "--template r1 forces R1" "$(ds tokenize $M --chat --template r1 --generation-prompt -f text <"$T/msgs.json")" \
	"$(ds tokenize -m "$T/r1" --chat --generation-prompt -f text <"$T/msgs.json")"
printf '[{"role":"user","content":"Why?"},{"role":"assistant","content":"<think>x</think>\\n\\nBecause."},{"role":"user","content":"ok"}]' >"$T/think.json"
check_eq "R1 keeps only the text after </think> of earlier turns" \
	"$(ds tokenize -m "$T/r1" --chat --render <"$T/think.json")" \
	"$(printf '<｜begin▁of▁sentence｜><｜User｜>Why?<｜Assistant｜>\n\nBecause.<｜end▁of▁sentence｜><｜User｜>ok')"
check_eq "chat frames: one final TOKENS frame" "$(ds tokenize $M --chat <"$T/msgs.json" | ds cat -f header | cut -c1-40)" \
	"frame 0: TOKENS i32 [7] seq 0 pos 0 fina"
cp "$SHARE/tokenizer_config.json" "$T/cfg.json"
mkdir "$T/odd"
ln -s "$SHARE/tokenizer.json" "$T/odd/tokenizer.json"
sed 's/<｜User｜>/<｜Usr｜>/' "$SHARE/tokenizer_config.json" >"$T/odd/tokenizer_config.json"
expect_fail 78 "an unknown chat template is refused" ds tokenize -m "$T/odd" --chat --render "$T/msgs.json"
check "... and --template overrides it" sh -c "ds-tokenize -m '$T/odd' --chat --template v3 --render '$T/msgs.json' >/dev/null"
printf '[{"role":"user","content":null}]' >"$T/null.json"
expect_fail 65 "content null where Jinja raises: 65" ds tokenize $M --chat --render "$T/null.json"
expect_fail 65 "not JSON" sh -c "echo '[{' | ds-tokenize $M --chat --render"
expect_fail 64 "--bos does not apply to --chat" ds tokenize $M --chat --bos "$T/msgs.json"
printf '[{"role":"user","content":"a\\u0000b"}]' >"$T/nul.json"
expect_fail 65 "U+0000 in a message is refused, not cut" ds tokenize $M --chat --render "$T/nul.json"
printf '[{"role":"user","content":"a\\\\u0000b"}]' >"$T/bs.json"
check_eq "... but a backslash before u0000 is text" "$(ds tokenize $M --chat --render "$T/bs.json")" '<｜begin▁of▁sentence｜><｜User｜>a\u0000b'
