#!/bin/sh
# Runs lens-bench and lens-analyze on a real model and checks their JSON against the names
# documented in their sources and README.md, and that bad arguments exit 2.
#   run_tools.sh LENS_BENCH LENS_ANALYZE MODELS_DIR
# Skips (77) when MODELS_DIR/squeezenet1_1/model.onnx is missing (scripts/make_real_models.sh).
# Ends with "N passed, N failed".
set -u
if [ $# -ne 3 ]; then
  echo "usage: $0 LENS_BENCH LENS_ANALYZE MODELS_DIR" >&2
  exit 2
fi
bench=$1
analyze=$2
model=$3/squeezenet1_1/model.onnx
python=/usr/bin/python3
if [ ! -f "$model" ]; then
  echo "SKIP: no $model (run scripts/make_real_models.sh)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # NAME COMMAND...: a case passes when COMMAND exits 0
  name=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/  /' "$tmp/out" | tail -20
  fi
}
exits_2() { # COMMAND...: exits with status 2 (an argument error) and says why on stderr
  "$@" >/dev/null 2>"$tmp/err"
  status=$?
  [ $status -eq 2 ] && [ -s "$tmp/err" ] && return 0
  echo "exit status $status (want 2): $*"
  cat "$tmp/err"
  return 1
}

test_bench_report_has_documented_keys() {
  "$bench" -m "$model" -niter 3 -nthreads 1 -report "$tmp/bench.json" || return 1
  "$python" - "$tmp/bench.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ["model", "device", "config", "inputs", "latency_ms", "throughput_fps", "gflops_per_s",
          "gflop_per_frame", "iterations", "wall_s", "layers"]:
    assert k in r, k
for k in ["batch", "nthreads", "nstreams", "nireq", "hint", "duration_s", "niter",
          "share_weights"]:
    assert k in r["config"], "config." + k
for k in ["min", "median", "p90", "p99", "max", "mean"]:
    assert r["latency_ms"][k] > 0, "latency_ms." + k
lat = r["latency_ms"]
assert lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
assert r["iterations"] == 3 and r["config"]["niter"] == 3, r["iterations"]
assert r["config"]["batch"] == 1 and r["config"]["nthreads"] == 1
assert r["device"] == "cpu" and r["throughput_fps"] > 0
assert r["cpu_isa"] in ("avx512", "avx2", "baseline"), r["cpu_isa"]
assert 0.5 < r["gflop_per_frame"] < 1.0, r["gflop_per_frame"]  # squeezenet1_1: ~0.71
assert abs(r["gflops_per_s"] - r["gflop_per_frame"] * r["throughput_fps"]) < 1e-6 * r["gflops_per_s"]
assert r["layers"] == []
EOF
}

test_bench_per_layer_counters_sorted_by_time() {
  "$bench" -m "$model" -niter 3 -nthreads 2 -pc -pcsort -report "$tmp/pc.json" || return 1
  "$python" - "$tmp/pc.json" <<'EOF'
import json, sys
layers = json.load(open(sys.argv[1]))["layers"]
assert len(layers) > 10, len(layers)
for l in layers:
    for k in ["order", "name", "op", "kernel", "precision", "time_ms", "share"]:
        assert k in l, k
times = [l["time_ms"] for l in layers]
assert times == sorted(times, reverse=True), "not sorted by time"
assert sorted(l["order"] for l in layers) == list(range(len(layers)))
assert abs(sum(l["share"] for l in layers) - 1) < 1e-6
EOF
}

test_bench_throughput_hint_runs_streams() {
  "$bench" -m "$model" -hint throughput -nstreams 2 -niter 4 -report "$tmp/tp.json" || return 1
  "$python" -c 'import json, sys
r = json.load(open(sys.argv[1]))
c = r["config"]
assert (c["hint"], c["nstreams"], c["nireq"], c["nthreads"]) == ("throughput", 2, 1, 1), c
assert c["share_weights"] is True, c
assert r["iterations"] == 4' "$tmp/tp.json" || return 1
  "$bench" -m "$model" -hint throughput -nstreams 2 -niter 4 -noshare \
    -report "$tmp/tp_own.json" || return 1
  "$python" -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["config"]["share_weights"] is False and r["iterations"] == 4, r["config"]' \
    "$tmp/tp_own.json"
}

test_cpu_isa_cap_takes_effect() {
  LENS_CPU_ISA=baseline "$bench" -m "$model" -niter 1 -nthreads 1 -report "$tmp/isa.json" \
    >"$tmp/isa.txt" || return 1
  grep -q "CPU kernels: baseline" "$tmp/isa.txt" &&
    "$python" -c 'import json, sys
assert json.load(open(sys.argv[1]))["cpu_isa"] == "baseline"' "$tmp/isa.json"
}

test_bench_reads_input_file() {
  "$bench" -m "$model" -i "$(dirname "$model")/test_data_set_0/input_0.pb" -niter 2 \
    -report "$tmp/in.json" || return 1
  "$python" -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["inputs"][0]["source"].endswith("input_0.pb"), r["inputs"]
assert r["inputs"][0]["shape"] == [1, 3, 224, 224]' "$tmp/in.json"
}

test_analyze_json_has_documented_keys() {
  "$analyze" --json "$model" >"$tmp/an.json" || return 1
  "$python" - "$tmp/an.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
for k in ["model", "opset", "inputs", "outputs", "flops", "iops", "gflop", "giop", "parameters",
          "weight_bytes", "min_activation_bytes", "max_activation_bytes", "nodes_executed",
          "nodes_folded", "layers"]:
    assert k in a, k
assert a["parameters"] > 1e6, a["parameters"]
assert a["weight_bytes"] >= 4 * a["parameters"]
assert 0 < a["min_activation_bytes"] <= a["max_activation_bytes"]
assert a["nodes_executed"] == len(a["layers"]) > 10
for l in a["layers"]:
    for k in ["order", "name", "op", "inputs", "outputs", "mflop", "miop", "params", "fused_into"]:
        assert k in l, k
assert sum(l["params"] for l in a["layers"]) == a["parameters"]
assert abs(sum(l["mflop"] for l in a["layers"]) * 1e6 - a["flops"]) < 1e-6 * a["flops"]
EOF
}

test_analyze_text_and_dot() {
  "$analyze" "$model" >"$tmp/an.txt" || return 1
  grep -q '^GFLOP' "$tmp/an.txt" && grep -q '^parameters' "$tmp/an.txt" || return 1
  "$analyze" --dot "$tmp/g.dot" "$model" >/dev/null 2>&1 || return 1
  head -1 "$tmp/g.dot" | grep -q '^digraph' && grep -q 'in0 -> n0;' "$tmp/g.dot" &&
    grep -q -- '-> out0;' "$tmp/g.dot"
}

test_analyze_svg_without_dot_is_not_an_error() {
  PATH=/nonexistent "$analyze" --svg "$tmp/g.svg" "$model" >/dev/null 2>"$tmp/svg.err" &&
    grep -q "not on PATH" "$tmp/svg.err" && [ ! -e "$tmp/g.svg" ]
}

test_bench_rejects_bad_arguments() {
  exits_2 "$bench" &&
    exits_2 "$bench" -m "$model" -nthreads 0 &&
    exits_2 "$bench" -m "$model" -nireq x &&
    exits_2 "$bench" -m "$model" -t -1 &&
    exits_2 "$bench" -m "$model" -hint fastest &&
    exits_2 "$bench" -m "$model" -d npu &&
    exits_2 "$bench" -m "$model" -d gpu.x &&
    exits_2 "$bench" -m "$model" -b 2 &&
    exits_2 "$bench" -m "$model" -shape nosuchinput=1,3 &&
    exits_2 "$bench" -m "$model" -shape input=1,,3 &&
    exits_2 "$bench" -m "$model" -i "$tmp/missing.pb" &&
    exits_2 "$bench" -m "$tmp/missing.onnx" &&
    exits_2 "$bench" -m "$model" -unknown
}

test_analyze_rejects_bad_arguments() {
  exits_2 "$analyze" &&
    exits_2 "$analyze" "$tmp/missing.onnx" &&
    exits_2 "$analyze" -b 0 "$model" &&
    exits_2 "$analyze" -shape input=1,3,224 "$model" &&
    exits_2 "$analyze" "$model" "$model"
}

check test_bench_report_has_documented_keys test_bench_report_has_documented_keys
check test_bench_per_layer_counters_sorted_by_time test_bench_per_layer_counters_sorted_by_time
check test_bench_throughput_hint_runs_streams test_bench_throughput_hint_runs_streams
check test_cpu_isa_cap_takes_effect test_cpu_isa_cap_takes_effect
check test_bench_reads_input_file test_bench_reads_input_file
check test_analyze_json_has_documented_keys test_analyze_json_has_documented_keys
check test_analyze_text_and_dot test_analyze_text_and_dot
check test_analyze_svg_without_dot_is_not_an_error test_analyze_svg_without_dot_is_not_an_error
check test_bench_rejects_bad_arguments test_bench_rejects_bad_arguments
check test_analyze_rejects_bad_arguments test_analyze_rejects_bad_arguments
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
