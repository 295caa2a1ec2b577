#!/usr/bin/env bash
# make demo: the practical example of rtq-taskfile(5) -- models trained,
# deployed, tested on three data sets in parallel and reported -- run by
# three local workers (ids 0, 1, 2; resnet101 is pinned to worker 2), with
# stand-in scripts that print what they do and sleep a little.  Prints
# rtq --plan first; ends by printing the task file as the workers left it
# and drawing its timeline into build/demo-timeline.svg.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${1:-build}/bin
demo=$(mktemp -d "${TMPDIR:-/tmp}/rtq-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT

mkdir -p "$demo/bin"
for fam in resnet_family/resnet34 resnet_family/resnet50 \
    resnet_family/resnet101 mbnet_family/mbnetv1 mbnet_family/mbnetv2 \
    mbnet_family/mbnetv3; do
	mkdir -p "$demo/playground/models/$fam"
done
stand_in() {	# NAME WHAT
	printf '#!/bin/sh\necho "  %s $(basename "$PWD") $* (worker $WORKERID)"\nsleep 0.%s\n' \
	    "$2" "$((RANDOM % 5 + 3))" >"$demo/bin/$1"
	chmod +x "$demo/bin/$1"
}
stand_in train_model "training"
stand_in deploy_model "deploying"
stand_in test_model_on "testing"
stand_in report_test_result "reporting on"
cp "$top/examples/tasklist.sh" "$demo/tasklist.sh"

echo "== $demo/tasklist.sh, before:"
cat "$demo/tasklist.sh"
export HOME=$demo PATH=$demo/bin:$PATH
cd "$demo"
echo "== what will run, and in which order: rtq --plan tasklist.sh"
"$bin/rtq" --plan tasklist.sh
echo "== three workers: rtq -x -i N tasklist.sh"
pids=()
for id in 0 1 2; do
	"$bin/rtq" -x --poll 0.3 -i "$id" -n "demo-worker-$id" tasklist.sh &
	pids+=($!)
	sleep 0.1
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
echo "== tasklist.sh, after:"
cat "$demo/tasklist.sh"
svg=$top/${1:-build}/demo-timeline.svg
echo "== the timeline: rtq --timeline -o $svg tasklist.sh"
"$bin/rtq" --timeline -o "$svg" tasklist.sh || rc=1
"$bin/rtq" --timeline tasklist.sh </dev/null | grep -c '<rect class="bar' |
    sed 's/^/   bars: /'
exit $rc
