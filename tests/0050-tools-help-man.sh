# Every tool: --help (exit 0, stdout only), --version, a usage error is 64,
# a man page whose SYNOPSIS and OPTIONS agree with --help.
. "$DS_TESTS/lib.sh"
MAN="$DS_TESTS/../man"

n=0
for exe in "$DS_BIN"/ds-*; do
	[ -x "$exe" ] || continue
	name=$(basename "$exe")
	n=$((n + 1))
	"$exe" --help >"$T/help" 2>"$T/help.err"; rc=$?
	if [ "$rc" -eq 0 ] && [ -s "$T/help" ] && [ ! -s "$T/help.err" ]; then
		echo "ok - $name --help exits 0 with text on stdout only"
	else
		echo "not ok - $name --help (exit $rc, stderr: $(head -c 200 "$T/help.err"))"
	fi
	check "$name --version" sh -c "'$exe' --version | grep -q '^$name dspipe '"
	expect_fail 64 "$name rejects an unknown option" "$exe" --no-such-option-xyz
	page="$MAN/$name.1"
	if [ ! -f "$page" ]; then
		echo "not ok - $name has a man page ($page missing)"
		continue
	fi
	echo "ok - $name has a man page"
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -q "^\.SH \"*$sec" "$page" || echo "not ok - $name.1 lacks section $sec"
	done
	# every long option of --help is documented, and every one documented exists
	sed -n '/^Options:/,$p' "$T/help" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"$T/opts.help"
	# (only the OPTIONS section counts: EXAMPLES may show other tools' options)
	sed -n '/^\.SH OPTIONS/,/^\.SH/p' "$page" | sed 's/\\-/-/g; s/\\f[BIRP]//g' |
		grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"$T/opts.man"
	missing=$(comm -23 "$T/opts.help" "$T/opts.man" | tr '\n' ' ')
	extra=$(comm -13 "$T/opts.help" "$T/opts.man" | tr '\n' ' ')
	check_eq "$name.1 documents every option of --help" "$missing" ""
	check_eq "$name.1 documents no option --help lacks" "$extra" ""
	# the SYNOPSIS lines of the page are the usage lines of --help
	sed -n '/^\.SH SYNOPSIS/,/^\.SH/p' "$page" | grep -v '^\.SH' |
		sed 's/\\-/-/g; s/\\f[BIRP]//g; s/^\.B //; s/^\.br$/@/' | tr '\n' ' ' | tr '@' '\n' |
		sed 's/  */ /g; s/^ //; s/ $//' | sed -e '$a\' >"$T/syn.man"
	sed -n 's/^usage: //p; s/^   or: //p' "$T/help" | sed 's/  */ /g; s/ $//' >"$T/syn.help"
	check_files "$name.1 SYNOPSIS matches --help usage" "$T/syn.man" "$T/syn.help"
	if command -v man >/dev/null 2>&1; then
		check "$name.1 renders" sh -c "MANWIDTH=80 man -l '$page' >/dev/null 2>'$T/man.err' && ! grep -q . '$T/man.err'"
	fi
done
[ "$n" -gt 0 ] && echo "ok - found $n tools" || echo "not ok - no tools found in $DS_BIN"
check "ds-stream.5 exists and renders" sh -c "man -l '$MAN/ds-stream.5' >/dev/null"
