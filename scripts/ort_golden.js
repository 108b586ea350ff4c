#!/usr/bin/env node
// Writes golden outputs from ONNX Runtime (npm onnxruntime-node, CPU) for folders in ONNX's
// test layout, so Lens (tools/lens-run) can be checked against ORT on real models:
//
//   node scripts/ort_golden.js [--threads N] FOLDER...
//
// For each FOLDER: loads FOLDER/model.onnx (graphOptimizationLevel 'all'), and for every
// FOLDER/test_data_set_*/ reads input_<i>.pb, runs the model, and writes output_<i>.pb next to
// them (TensorProto: dims, data_type, name = the graph output's name, raw_data little-endian).
// Prints the output shapes and the ORT latency (first run, then the median of a few warm runs);
// the latency is for humans only, nothing asserts on it.
//
// The TensorProto codec is written here (a few dozen lines) rather than pulling in a protobuf
// package: fields dims=1 (int64, packed or not), data_type=2, float_data=4, int32_data=5,
// int64_data=7, name=8, raw_data=9, double_data=10, uint64_data=11; other fields are skipped.
// Types: float32, float64, float16, int8/16/32/64, uint8/16/32/64, bool.
//
// onnxruntime-node is taken from .deps/npm (scripts/fetch_npm.sh) or LENS_NPM_DIR.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const npmDir = process.env.LENS_NPM_DIR || path.join(__dirname, '..', '.deps', 'npm');
const ort = require(path.join(path.resolve(npmDir), 'node_modules', 'onnxruntime-node'));

if (os.endianness() !== 'LE') throw new Error('raw_data is little-endian; this host is not');

// ONNX TensorProto.DataType -> [ORT type name, typed array constructor]
const DTYPES = {
  1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array],
  4: ['uint16', Uint16Array], 5: ['int16', Int16Array], 6: ['int32', Int32Array],
  7: ['int64', BigInt64Array], 9: ['bool', Uint8Array], 10: ['float16', Uint16Array],
  11: ['float64', Float64Array], 12: ['uint32', Uint32Array], 13: ['uint64', BigUint64Array],
};
const ORT_TO_ONNX = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [v[0], +k]));

// ---- protobuf reading -------------------------------------------------------------------
class Reader {
  constructor(buf) { this.buf = buf; this.pos = 0; }
  eof() { return this.pos >= this.buf.length; }
  varint() { // as BigInt (uint64)
    let r = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  }
  bytes() {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new Error('truncated length-delimited field');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  fixed(n) {
    if (this.pos + n > this.buf.length) throw new Error('truncated fixed field');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.fixed(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.fixed(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

// Reads a repeated scalar field occurrence, packed (wire 2) or not, pushing into out.
function readRepeated(r, wire, kind, out) {
  const one = (rr, w) => {
    if (kind === 'varint') { if (w !== 0) throw new Error('bad wire'); out.push(rr.varint()); }
    else if (kind === 'f32') { out.push(Buffer.from(rr.fixed(4)).readFloatLE(0)); }
    else if (kind === 'f64') { out.push(Buffer.from(rr.fixed(8)).readDoubleLE(0)); }
  };
  if (wire === 2) {
    const sub = new Reader(r.bytes());
    const w = kind === 'varint' ? 0 : kind === 'f32' ? 5 : 1;
    while (!sub.eof()) one(sub, w);
  } else {
    one(r, wire);
  }
}

function decodeTensorProto(buf) {
  const r = new Reader(buf);
  const t = { dims: [], dataType: 0, name: '', raw: null, floatData: [], int32Data: [],
              int64Data: [], doubleData: [], uint64Data: [], external: false };
  while (!r.eof()) {
    const key = Number(r.varint());
    const field = key >>> 3, wire = key & 7;
    switch (field) {
      case 1: readRepeated(r, wire, 'varint', t.dims); break;
      case 2: t.dataType = Number(r.varint()); break;
      case 4: readRepeated(r, wire, 'f32', t.floatData); break;
      case 5: readRepeated(r, wire, 'varint', t.int32Data); break;
      case 7: readRepeated(r, wire, 'varint', t.int64Data); break;
      case 8: t.name = Buffer.from(r.bytes()).toString('utf8'); break;
      case 9: t.raw = r.bytes(); break;
      case 10: readRepeated(r, wire, 'f64', t.doubleData); break;
      case 11: readRepeated(r, wire, 'varint', t.uint64Data); break;
      case 14: t.external = Number(r.varint()) === 1; break;
      default: r.skip(wire);
    }
  }
  if (t.external) throw new Error('external data is not supported');
  t.dims = t.dims.map((d) => Number(BigInt.asIntN(64, d)));
  const info = DTYPES[t.dataType];
  if (!info) throw new Error(`unsupported data_type ${t.dataType}`);
  const [type, Ctor] = info;
  const count = t.dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.raw) {
    if (t.raw.length !== count * Ctor.BYTES_PER_ELEMENT) {
      throw new Error(`raw_data is ${t.raw.length} bytes, expected ${count * Ctor.BYTES_PER_ELEMENT}`);
    }
    data = new Ctor(count); // copy: the slice may be unaligned
    new Uint8Array(data.buffer).set(t.raw);
  } else {
    let src;
    if (t.dataType === 1) src = t.floatData;
    else if (t.dataType === 11) src = t.doubleData;
    else if (t.dataType === 7) src = t.int64Data.map((v) => BigInt.asIntN(64, v));
    else if (t.dataType === 12 || t.dataType === 13) src = t.uint64Data;
    else src = t.int32Data.map((v) => Number(BigInt.asIntN(32, v))); // int8..int32, bool, fp16 bits
    if (src.length !== count) throw new Error(`${src.length} values, expected ${count}`);
    data = Ctor.from(src, (v) => (t.dataType === 12 ? Number(v) : v));
  }
  return { name: t.name, type, dims: t.dims, data };
}

// ---- protobuf writing -------------------------------------------------------------------
function varintBytes(v) { // v: non-negative BigInt or number
  let x = BigInt(v);
  if (x < 0n) x = BigInt.asUintN(64, x);
  const out = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return Buffer.from(out);
}
const tag = (field, wire) => varintBytes((field << 3) | wire);
const lenField = (field, bytes) => Buffer.concat([tag(field, 2), varintBytes(bytes.length), bytes]);

function encodeTensorProto(name, type, dims, data) {
  const dt = ORT_TO_ONNX[type];
  if (!dt) throw new Error(`cannot write ORT tensor type ${type}`);
  const parts = [];
  if (dims.length) parts.push(lenField(1, Buffer.concat(dims.map((d) => varintBytes(BigInt(d))))));
  parts.push(tag(2, 0), varintBytes(dt));
  parts.push(lenField(8, Buffer.from(name, 'utf8')));
  parts.push(lenField(9, Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
  return Buffer.concat(parts);
}

// ---- running ----------------------------------------------------------------------------
const indexOf = (f, prefix) => Number(f.slice(prefix.length).split('.')[0]);
const listNumbered = (dir, prefix, suffix) => fs.readdirSync(dir)
  .filter((f) => f.startsWith(prefix) && f.endsWith(suffix) && /^\d+$/.test(f.slice(prefix.length, -suffix.length)))
  .sort((a, b) => indexOf(a, prefix) - indexOf(b, prefix));

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function runFolder(folder, threads) {
  const modelPath = path.join(folder, 'model.onnx');
  const opts = { graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
  if (threads > 0) opts.intraOpNumThreads = threads;
  let t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(modelPath, opts);
  const loadMs = ms(t0);

  const sets = fs.readdirSync(folder).filter((d) => /^test_data_set_\d+$/.test(d) &&
    fs.statSync(path.join(folder, d)).isDirectory()).sort((a, b) => indexOf(a, 'test_data_set_') - indexOf(b, 'test_data_set_'));
  if (!sets.length) throw new Error(`${folder}: no test_data_set_*`);

  for (const set of sets) {
    const dir = path.join(folder, set);
    const feeds = {};
    const inFiles = listNumbered(dir, 'input_', '.pb');
    if (!inFiles.length) throw new Error(`${dir}: no input_*.pb`);
    inFiles.forEach((f, i) => {
      const t = decodeTensorProto(fs.readFileSync(path.join(dir, f)));
      const name = session.inputNames.includes(t.name) ? t.name : session.inputNames[i];
      if (name === undefined) throw new Error(`${dir}/${f}: model has only ${session.inputNames.length} inputs`);
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    });

    t0 = process.hrtime.bigint();
    const results = await session.run(feeds);
    const firstMs = ms(t0);
    const warm = [];
    for (let k = 0; k < 5; k++) {
      t0 = process.hrtime.bigint();
      await session.run(feeds);
      warm.push(ms(t0));
    }

    for (const f of listNumbered(dir, 'output_', '.pb')) fs.unlinkSync(path.join(dir, f));
    const shapes = [];
    session.outputNames.forEach((name, i) => {
      const t = results[name];
      if (!t || t.location !== undefined && t.location !== 'cpu') throw new Error(`${name}: not a CPU tensor`);
      fs.writeFileSync(path.join(dir, `output_${i}.pb`), encodeTensorProto(name, t.type, t.dims, t.data));
      shapes.push(`${name} ${t.type}[${t.dims.join(',')}]`);
    });
    const ins = Object.entries(feeds).map(([n, t]) => `${n} ${t.type}[${t.dims.join(',')}]`).join(', ');
    console.log(`ort_golden: ${folder}/${set}: in ${ins} -> out ${shapes.join(', ')}`);
    console.log(`ort_golden:   ORT ${ort.env.versions ? ort.env.versions.common : ''} latency: ` +
      `load ${loadMs.toFixed(0)} ms, first run ${firstMs.toFixed(1)} ms, ` +
      `warm median ${median(warm).toFixed(1)} ms (${warm.length} runs)`);
  }
}

async function main() {
  const args = process.argv.slice(2);
  let threads = 0;
  const folders = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') threads = Number(args[++i]);
    else if (args[i] === '-h' || args[i] === '--help') { folders.length = 0; break; }
    else folders.push(args[i].replace(/\/+$/, ''));
  }
  if (!folders.length) {
    console.error('usage: node scripts/ort_golden.js [--threads N] FOLDER...');
    process.exit(2);
  }
  for (const f of folders) await runFolder(f, threads);
}

if (require.main === module) {
  main().catch((e) => { console.error(`ort_golden: ${e.stack || e}`); process.exit(1); });
}
module.exports = { decodeTensorProto, encodeTensorProto };
