#!/usr/bin/env node
// Measures ONNX Runtime (npm onnxruntime-node, CPU) latency on one model the way lens-bench
// measures Lens, for bench/compare.sh:
//
//   node bench/ort_bench.js --model M.onnx --input in0.pb [--input in1.pb ...]
//                           [--threads N] [-t SECONDS | --niter N] [--start-at UNIX_MS]
//
// Session options: graphOptimizationLevel 'all', intraOpNumThreads N, interOpNumThreads 1,
// executionMode 'sequential'. One warm-up run (excluded, as in lens-bench), then runs in a
// loop until SECONDS have passed (default 5; at least one run) or N runs are done.
// --start-at makes concurrent processes start their warm-up together: after loading, the
// process waits until that wall-clock time (milliseconds since the epoch).
//
// Prints one JSON object to stdout:
//   {"model", "threads", "ort_version", "iterations", "wall_s", "throughput_fps",
//    "latency_ms": {"min", "median", "p90", "p99", "max", "mean"}}
// fps counts runs (batch 1: frames). Inputs are read with scripts/ort_golden.js's TensorProto
// decoder; onnxruntime-node comes from .deps/npm (scripts/fetch_npm.sh) or LENS_NPM_DIR.
'use strict';
const fs = require('fs');
const path = require('path');

const npmDir = process.env.LENS_NPM_DIR || path.join(__dirname, '..', '.deps', 'npm');
const ort = require(path.join(path.resolve(npmDir), 'node_modules', 'onnxruntime-node'));
const { decodeTensorProto } = require(path.join(__dirname, '..', 'scripts', 'ort_golden.js'));

function usage(code) {
  (code ? console.error : console.log)(
    'usage: node bench/ort_bench.js --model M.onnx --input IN.pb [--input ...] [--threads N]\n' +
    '                               [-t SECONDS | --niter N] [--start-at UNIX_MS]');
  process.exit(code);
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], threads: 1, seconds: 0, niter: 0, startAt: 0 };
  const num = (flag, v, min) => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x) || x < min) {
      console.error(`ort_bench: ${flag} needs a number >= ${min}`);
      process.exit(2);
    }
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--model') a.model = argv[++i];
    else if (f === '--input') a.inputs.push(argv[++i]);
    else if (f === '--threads') a.threads = Math.floor(num(f, argv[++i], 1));
    else if (f === '-t' || f === '--seconds') a.seconds = num(f, argv[++i], 0.001);
    else if (f === '--niter') a.niter = Math.floor(num(f, argv[++i], 1));
    else if (f === '--start-at') a.startAt = num(f, argv[++i], 0);
    else if (f === '-h' || f === '--help') usage(0);
    else { console.error(`ort_bench: unknown argument ${f}`); usage(2); }
  }
  if (!a.model || !a.inputs.length || a.inputs.includes(undefined)) usage(2);
  if (!a.seconds && !a.niter) a.seconds = 5;
  return a;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function stats(lat) {
  const s = [...lat].sort((x, y) => x - y);
  const n = s.length;
  const rank = (p) => s[Math.max(0, Math.ceil((p / 100) * n) - 1)]; // nearest rank, as lens-bench
  return {
    min: s[0], median: n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2, p90: rank(90),
    p99: rank(99), max: s[n - 1], mean: s.reduce((x, y) => x + y, 0) / n,
  };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(a.model, {
    graphOptimizationLevel: 'all', executionProviders: ['cpu'], intraOpNumThreads: a.threads,
    interOpNumThreads: 1, executionMode: 'sequential',
  });
  if (a.inputs.length !== session.inputNames.length) {
    throw new Error(`the model has ${session.inputNames.length} inputs, ${a.inputs.length} given`);
  }
  const feeds = {};
  a.inputs.forEach((file, i) => {
    const t = decodeTensorProto(fs.readFileSync(file));
    const name = session.inputNames.includes(t.name) ? t.name : session.inputNames[i];
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });
  const wait = a.startAt - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));

  await session.run(feeds); // warm-up, excluded
  const lat = [];
  const t0 = nowMs();
  const deadline = a.seconds ? t0 + a.seconds * 1e3 : Infinity;
  let end = t0;
  do {
    const start = nowMs();
    await session.run(feeds);
    end = nowMs();
    lat.push(end - start);
  } while ((!a.niter || lat.length < a.niter) && end < deadline);
  const wall = (end - t0) / 1e3;
  console.log(JSON.stringify({
    model: a.model, threads: a.threads,
    ort_version: ort.env.versions ? ort.env.versions.common : null,
    iterations: lat.length, wall_s: wall, throughput_fps: lat.length / wall,
    latency_ms: stats(lat),
  }));
}

main().catch((e) => { console.error(`ort_bench: ${e.stack || e}`); process.exit(1); });
