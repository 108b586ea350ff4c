#!/usr/bin/env bash
# Lens against ONNX Runtime, side by side, on the real models (scripts/make_real_models.sh):
#
#   bench/compare.sh [-t SECONDS] [--models "resnet50 ppocr_det"] [--threads "1 2"]
#                    [--rounds N] [--throughput] [--out FILE.md] [--build-dir DIR]
#
# Latency mode (default): for each model and thread count, tools/lens-bench (batch 1,
# -nstreams 1 -nireq 1 -nthreads T) and bench/ort_bench.js (onnxruntime-node,
# graphOptimizationLevel 'all', intraOpNumThreads T, interOpNumThreads 1, sequential) run
# ALTERNATELY, Lens, ORT, Lens, ORT, ... (--rounds each, default 2), SECONDS each (default 5)
# after one warm-up run, on the model's test_data_set_0/input_*.pb. The best median of each
# goes into a markdown table with the ratio ORT/Lens (> 1: Lens is faster) and the geometric
# mean of the ratios. With fewer threads than cores, both engines of a round are pinned
# (taskset) to the same cores, the next cores in the next round: the shared machines' cores
# are often unequal (one at about 60% of the other's vector throughput for seconds at a
# time), and a process left to the scheduler measured whichever it landed on (resnet50 at
# one thread: 0.86 unpinned, 1.12 with both on either core).
# Throughput mode (--throughput): lens-bench -hint throughput against two 1-thread ORT
# processes started together (their frames/s summed), per model; ratio Lens/ORT (> 1: Lens
# is faster). Alternation and best-of-rounds as above.
#
# It first runs scripts/fetch_npm.sh (onnxruntime-node into .deps/npm) and
# scripts/make_real_models.sh --no-check (models into models/real), and builds lens-bench in
# DIR (default $BUILD_DIR or build; NINJA_JOBS=N limits the build's jobs). The machine is
# usually shared and noisy: compare within one run, as ratios; numbers vary between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5
models="resnet50 mobilenet_v2 squeezenet1_1 ssdlite320_mobilenet_v3_large ppocr_det ppocr_cls ppocr_rec"
threads="1 2"
rounds=2
throughput=0
out=
build_dir=${BUILD_DIR:-build}

die() { echo "compare: $*" >&2; exit 2; }
positive() {
  if ! [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || ! awk -v x="$2" 'BEGIN { exit !(x > 0) }'; then
    die "$1 needs a positive number, not '$2'"
  fi
}
while (($#)); do
  case "$1" in
    -t) (($# >= 2)) || die "-t needs a value"; positive -t "$2"; seconds=$2; shift 2 ;;
    --models) (($# >= 2)) || die "--models needs a value"; models=$2; shift 2 ;;
    --threads) (($# >= 2)) || die "--threads needs a value"; threads=$2; shift 2 ;;
    --rounds) (($# >= 2)) || die "--rounds needs a value"
      [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive integer"; rounds=$2; shift 2 ;;
    --throughput) throughput=1; shift ;;
    --out) (($# >= 2)) || die "--out needs a value"; out=$2; shift 2 ;;
    --build-dir) (($# >= 2)) || die "--build-dir needs a value"; build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (-h for help)" ;;
  esac
done
for t in $threads; do [[ $t =~ ^[1-9][0-9]*$ ]] || die "--threads: '$t' is not a thread count"; done
[[ -n $models ]] || die "--models is empty"

echo "== preparing: npm packages, real models, lens-bench" >&2
scripts/fetch_npm.sh >&2
scripts/make_real_models.sh --no-check >&2
if [[ -f $build_dir/build.ninja ]]; then
  ninja -C "$build_dir" ${NINJA_JOBS:+-j "$NINJA_JOBS"} tools/lens-bench >&2
else
  BUILD_DIR=$build_dir scripts/build.sh >&2
fi
lens_bench=$build_dir/tools/lens-bench
[[ -x $lens_bench ]] || die "$lens_bench was not built"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# json FILE EXPR: prints a field of a JSON file (EXPR in JavaScript, j is the object).
json() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const v = eval(process.argv[2]); if (typeof v !== "number" || !isFinite(v)) process.exit(1);
  console.log(v)' "$1" "$2"; }
# inputs MODEL: the -i/--input arguments for test_data_set_0's inputs, in input order.
inputs_of() {
  local dir=models/real/$1/test_data_set_0 i=0
  while [[ -f $dir/input_$i.pb ]]; do
    printf '%s\n%s\n' "$2" "$dir/input_$i.pb"
    i=$((i + 1))
  done
}
best_min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "") print a;
  else print (b + 0 < a + 0 ? b : a) }'; }
best_max() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "") print a;
  else print (b + 0 > a + 0 ? b : a) }'; }
fmt() { [[ -n $1 ]] && printf '%.2f' "$1" || printf 'fail'; }

# pin_for T ROUND: the taskset prefix for a latency run of T threads in round ROUND (empty
# when T takes every core or taskset is missing).
cores=$(nproc)
pin_for() {
  (($1 < cores)) && command -v taskset >/dev/null || return 0
  local first=$(((($2 - 1) * $1) % cores)) list='' c
  for ((c = 0; c < $1; c++)); do list+=${list:+,}$(((first + c) % cores)); done
  printf 'taskset -c %s' "$list"
}

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//' || true)
header="Lens $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes')"
header+=" vs ONNX Runtime $(node -e 'console.log(require(process.argv[1] + "/package.json").version)' \
  "$PWD/.deps/npm/node_modules/onnxruntime-node" 2>/dev/null || echo '?')"
header+=" on ${cpu:-unknown CPU}, $cores cores; $seconds s per run, best of $rounds alternating rounds"
((throughput)) ||
  header+=" (fewer threads than cores: both pinned to the same cores, rotated per round)"

rows=()
ratios=()
for m in $models; do
  model=models/real/$m/model.onnx
  if [[ ! -f $model ]]; then
    echo "compare: $model is missing, skipped" >&2
    continue
  fi
  mapfile -t lens_in < <(inputs_of "$m" -i)
  mapfile -t ort_in < <(inputs_of "$m" --input)
  if ((throughput)); then
    lens_best='' ort_best=''
    for ((r = 1; r <= rounds; r++)); do
      echo "== $m throughput, round $r/$rounds: Lens" >&2
      if "$lens_bench" -m "$model" "${lens_in[@]}" -hint throughput -t "$seconds" \
          -report "$tmp/lens.json" >"$tmp/lens.log" 2>&1; then
        lens_best=$(best_max "$lens_best" "$(json "$tmp/lens.json" j.throughput_fps)")
      else
        echo "compare: lens-bench failed on $m:" >&2; tail -3 "$tmp/lens.log" >&2
      fi
      echo "== $m throughput, round $r/$rounds: ORT (2 processes x 1 thread)" >&2
      start_at=$(($(date +%s%3N) + 3000)) # both load, then start together
      node bench/ort_bench.js --model "$model" "${ort_in[@]}" --threads 1 -t "$seconds" \
        --start-at "$start_at" >"$tmp/ort1.json" 2>"$tmp/ort1.log" & p1=$!
      node bench/ort_bench.js --model "$model" "${ort_in[@]}" --threads 1 -t "$seconds" \
        --start-at "$start_at" >"$tmp/ort2.json" 2>"$tmp/ort2.log" & p2=$!
      s1=0 s2=0
      wait "$p1" || s1=$?
      wait "$p2" || s2=$?
      if ((s1 == 0 && s2 == 0)); then
        sum=$(awk -v a="$(json "$tmp/ort1.json" j.throughput_fps)" \
                  -v b="$(json "$tmp/ort2.json" j.throughput_fps)" 'BEGIN { print a + b }')
        ort_best=$(best_max "$ort_best" "$sum")
      else
        echo "compare: ORT failed on $m:" >&2; tail -3 "$tmp/ort1.log" "$tmp/ort2.log" >&2
      fi
    done
    ratio=
    if [[ -n $lens_best && -n $ort_best ]]; then
      ratio=$(awk -v l="$lens_best" -v o="$ort_best" 'BEGIN { print l / o }')
      ratios+=("$ratio")
    fi
    rows+=("| $m | $(fmt "$lens_best") | $(fmt "$ort_best") | $(fmt "$ratio") |")
    continue
  fi
  for t in $threads; do
    lens_best='' ort_best=''
    for ((r = 1; r <= rounds; r++)); do
      pin=$(pin_for "$t" "$r")
      echo "== $m, $t thread(s), round $r/$rounds: Lens${pin:+ ($pin)}" >&2
      if $pin "$lens_bench" -m "$model" "${lens_in[@]}" -b 1 -nstreams 1 -nireq 1 -nthreads "$t" \
          -t "$seconds" -report "$tmp/lens.json" >"$tmp/lens.log" 2>&1; then
        lens_best=$(best_min "$lens_best" "$(json "$tmp/lens.json" j.latency_ms.median)")
      else
        echo "compare: lens-bench failed on $m:" >&2; tail -3 "$tmp/lens.log" >&2
      fi
      echo "== $m, $t thread(s), round $r/$rounds: ORT${pin:+ ($pin)}" >&2
      if $pin node bench/ort_bench.js --model "$model" "${ort_in[@]}" --threads "$t" -t "$seconds" \
          >"$tmp/ort.json" 2>"$tmp/ort.log"; then
        ort_best=$(best_min "$ort_best" "$(json "$tmp/ort.json" j.latency_ms.median)")
      else
        echo "compare: ORT failed on $m:" >&2; tail -3 "$tmp/ort.log" >&2
      fi
    done
    ratio=
    if [[ -n $lens_best && -n $ort_best ]]; then
      ratio=$(awk -v l="$lens_best" -v o="$ort_best" 'BEGIN { print o / l }')
      ratios+=("$ratio")
    fi
    rows+=("| $m | $t | $(fmt "$lens_best") | $(fmt "$ort_best") | $(fmt "$ratio") |")
  done
done

geomean=
if ((${#ratios[@]})); then
  geomean=$(printf '%s\n' "${ratios[@]}" | awk '{ s += log($1); n++ } END { print exp(s / n) }')
fi
{
  echo "$header"
  echo
  if ((throughput)); then
    echo "| model | Lens frames/s (-hint throughput) | ORT frames/s (2 x 1-thread processes) | Lens/ORT |"
    echo "| --- | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
    echo "| geometric mean | | | $(fmt "$geomean") |"
  else
    echo "| model | threads | Lens median ms | ORT median ms | ORT/Lens |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
    echo "| geometric mean | | | | $(fmt "$geomean") |"
  fi
} | if [[ -n $out ]]; then tee "$out"; else cat; fi
