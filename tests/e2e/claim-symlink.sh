#!/usr/bin/env bash
# A task file reached by two names (a symlink and its target) is one queue:
# 8 processes claim from it, half through each name, and every task is
# claimed exactly once.
. "$RTQ_TOP/tests/e2e/lib.sh"
mkdir -p "$T/real"
F=$T/real/tasks.sh
L=$T/link.sh
ln -s "$F" "$L"
for i in $(seq 1 400); do echo "echo task $i"; done >"$F"
claimer() {	# NAME ID
	local id prev=() out pos=0 line text head item
	id=$("$CLAIM" register "$1" "$2" "p$2" | sed 's/RTQ1 id //')
	while :; do
		out=$("$CLAIM" next "$1" "$id" "$pos" "${prev[@]}") ||
			die "next failed: $out"
		case $out in
		"RTQ1 work "*) ;;
		*) break ;;
		esac
		# (parsed by the shell: three seds a claim cost more than it)
		head=${out%%$'\n'*} item=${out#*$'\n'}
		pos=${head#RTQ1 work } pos=${pos%% *}
		item=${item#task } line=${item%% *} text=${item#* }
		echo "$text" >>"$T/claimed.$2"
		prev=(task "$line" 0 "$text")
	done
}
say "8 claimers, 4 through the link and 4 through the target"
for i in 0 1 2 3 4 5 6 7; do
	if [ $((i % 2)) -eq 0 ]; then claimer "$L" $i & else claimer "$F" $i & fi
done
wait
total=$(cat "$T"/claimed.* | wc -l)
uniq=$(cat "$T"/claimed.* | sort -u | wc -l)
expect_eq "claims" "$total" 400
expect_eq "distinct tasks claimed" "$uniq" 400
expect_eq "tasks ended #ok" "$(grep -c '#ok$' "$F")" 400
[ -L "$L" ] || die "the link is no longer a link"
