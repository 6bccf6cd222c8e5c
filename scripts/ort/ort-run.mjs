#!/usr/bin/env node
// ort-run.mjs — ONNX Runtime (CPU) reference runner and benchmark peer for gst-deeplab.
//
// Subcommands (run `node scripts/ort/ort-run.mjs --help` for the full text):
//   run    --model M.onnx --input IN.npy --output OUT.npy [--threads N] [--input-name X] [--output-name Y]
//   bench  --model M.onnx [--shape 1,3,520,520 | --size WxH] [--threads N] [--iters N] [--warmup N] [--seed N] [--json]
//   info   --model M.onnx [--json]
//   report FILE.jsonl            (markdown table from scripts/bench-vs-ort.sh's JSONL evidence)
//
// Every error is one line on stderr ("ort-run: error: ...") and exit status 2.
// Install the dependency with scripts/install-ort.sh (npm ci --ignore-scripts in scripts/ort).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const PROG = 'ort-run';
const require = createRequire(import.meta.url);

const USAGE = `usage:
  node scripts/ort/ort-run.mjs run   --model M.onnx --input IN.npy --output OUT.npy
                                     [--threads N] [--input-name NAME] [--output-name NAME]
  node scripts/ort/ort-run.mjs bench --model M.onnx [--shape 1,3,520,520 | --size WxH]
                                     [--threads N] [--iters N] [--warmup N] [--seed N] [--json]
  node scripts/ort/ort-run.mjs info  --model M.onnx [--json]
  node scripts/ort/ort-run.mjs report FILE.jsonl

Session options: intraOpNumThreads=N (default 2), interOpNumThreads=1,
graphOptimizationLevel='all', executionMode='sequential', CPU execution provider.

run:    reads a float32 C-order .npy ('<f4', npy format v1/v2/v3), feeds it to the model's first
        input (or --input-name), writes the first output (or --output-name) as a float32 .npy.
bench:  random uniform input in [-1,1] (fixed seed, default 1234); times session.run per iteration.
        Input shape: --shape; else the model's static input shape; else (dynamic dims) filled from
        --size WxH following the layout (batch 1, channels 3; NHWC when the last dim is 3 and
        dim 1 is not, otherwise NCHW). Error if dynamic and neither is given.
        Defaults: --iters 20, --warmup 3, --threads 2. --json prints one JSON object on one line.
info:   prints input/output names, types and shapes.
Errors: one line on stderr, exit status 2.`;

class UsageError extends Error {}

function fail(msg) {
  throw new UsageError(msg);
}

// ---------------------------------------------------------------- argument parsing

const SPECS = {
  run: { model: 's', input: 's', output: 's', threads: 'i', 'input-name': 's', 'output-name': 's' },
  bench: { model: 's', shape: 's', size: 's', threads: 'i', iters: 'i', warmup: 'i', seed: 'i', json: 'b',
    'input-name': 's' },
  info: { model: 's', json: 'b' },
};

function parseArgs(cmd, argv) {
  const spec = SPECS[cmd];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (!a.startsWith('--')) fail(`${cmd}: unexpected argument '${a}'`);
    let val;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      val = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const key = a.slice(2);
    const kind = spec[key];
    if (!kind) fail(`${cmd}: unknown option '${a}'`);
    if (kind === 'b') {
      if (val !== undefined) fail(`${cmd}: option ${a} takes no value`);
      opts[key] = true;
      continue;
    }
    if (val === undefined) {
      if (i + 1 >= argv.length) fail(`${cmd}: option ${a} needs a value`);
      val = argv[++i];
    }
    if (kind === 'i') {
      if (!/^\d+$/.test(val)) fail(`${cmd}: option ${a} needs a non-negative integer, got '${val}'`);
      opts[key] = Number.parseInt(val, 10);
    } else {
      opts[key] = val;
    }
  }
  return opts;
}

function requireOpt(cmd, opts, key) {
  if (opts[key] === undefined || opts[key] === '') fail(`${cmd}: --${key} is required`);
  return opts[key];
}

function requireFile(what, p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    fail(`${what} not found: ${p}`);
  }
  if (!st.isFile()) fail(`${what} is not a regular file: ${p}`);
}

// ---------------------------------------------------------------- .npy reader / writer

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function parseNpyHeader(text, file) {
  // The header is a Python dict literal, e.g.
  //   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 257, 257, 3), }
  const t = text.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) fail(`bad npy header in ${file}: not a dict literal`);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(t);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)\b/.exec(t);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(t);
  if (!descr || !fortran || !shape) fail(`bad npy header in ${file}: missing descr, fortran_order or shape`);
  const dims = [];
  for (const part of shape[1].split(',')) {
    const s = part.trim().replace(/L$/, '');
    if (s === '') continue;
    if (!/^\d+$/.test(s)) fail(`bad npy header in ${file}: bad shape entry '${part.trim()}'`);
    dims.push(Number.parseInt(s, 10));
  }
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims };
}

function readNpy(file) {
  requireFile('input .npy', file);
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) fail(`not an .npy file (bad magic): ${file}`);
  const major = buf[6];
  const minor = buf[7];
  let headerLen;
  let off;
  let enc;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    off = 10;
    enc = 'latin1';
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(`truncated .npy header: ${file}`);
    headerLen = buf.readUInt32LE(8);
    off = 12;
    enc = major === 3 ? 'utf8' : 'latin1';
  } else {
    fail(`unsupported .npy format version ${major}.${minor} in ${file} (supported: 1.0, 2.0, 3.0)`);
  }
  if (off + headerLen > buf.length) fail(`truncated .npy header: ${file}`);
  const hdr = parseNpyHeader(buf.toString(enc, off, off + headerLen), file);
  if (hdr.descr !== '<f4') {
    fail(`unsupported .npy dtype '${hdr.descr}' in ${file}: only little-endian float32 ('<f4') is supported`);
  }
  if (hdr.fortranOrder) fail(`unsupported .npy layout in ${file}: fortran_order is True (need C order)`);
  const count = hdr.shape.reduce((a, b) => a * b, 1);
  const dataOff = off + headerLen;
  const need = count * 4;
  const have = buf.length - dataOff;
  if (have !== need) {
    fail(`.npy data size mismatch in ${file}: shape [${hdr.shape}] needs ${need} bytes, file has ${have}`);
  }
  // Copy into a fresh, aligned ArrayBuffer (host is little-endian; checked in main()).
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(buf.subarray(dataOff, dataOff + need));
  return { shape: hdr.shape, data };
}

function writeNpy(file, shape, data) {
  if (!(data instanceof Float32Array)) throw new Error('writeNpy: data must be a Float32Array');
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`writeNpy: shape [${shape}] does not match ${data.length} elements`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad with spaces and end with '\n' so that the data starts at a multiple of 64 bytes.
  let major = 1;
  let pre = 10;
  if (dict.length + 1 + 64 > 0xffff) {
    major = 2;
    pre = 12;
  }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  NPY_MAGIC.copy(head, 0);
  head[6] = major;
  head[7] = 0;
  if (major === 1) head.writeUInt16LE(dict.length, 8);
  else head.writeUInt32LE(dict.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) fail(`output directory does not exist: ${dir}`);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(dict, 'latin1'), body]));
}

// ---------------------------------------------------------------- ONNX Runtime

let ortModule = null;

function loadOrt() {
  if (ortModule) return ortModule;
  try {
    ortModule = require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (${String(e.message).split('\n')[0]}); run: bash scripts/install-ort.sh`);
  }
  return ortModule;
}

function ortVersion(ort) {
  try {
    if (ort.env && ort.env.versions && ort.env.versions.node) return ort.env.versions.node;
  } catch { /* fall through */ }
  try {
    return require('onnxruntime-node/package.json').version;
  } catch {
    return 'unknown';
  }
}

function sessionOptions(threads) {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3, // errors only: keep stderr to our one-line messages
  };
}

async function createSession(ort, model, threads) {
  requireFile('model', model);
  const t0 = process.hrtime.bigint();
  let session;
  try {
    session = await ort.InferenceSession.create(model, sessionOptions(threads));
  } catch (e) {
    fail(`cannot load model ${model}: ${oneLine(e)}`);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { session, createMs: ms };
}

function oneLine(e) {
  return String((e && e.message) || e).replace(/\s+/g, ' ').trim();
}

function metaOf(session, which, name) {
  const names = which === 'input' ? session.inputNames : session.outputNames;
  if (!names.length) fail(`model has no ${which}s`);
  const n = name ?? names[0];
  if (!names.includes(n)) fail(`model has no ${which} named '${n}' (${which}s: ${names.join(', ')})`);
  const list = which === 'input' ? session.inputMetadata : session.outputMetadata;
  let meta = null;
  if (Array.isArray(list)) meta = list.find((m) => m && m.name === n) ?? null;
  else if (list && typeof list === 'object') meta = list[n] ?? null;
  return { name: n, meta };
}

function isStaticDim(d) {
  return Number.isInteger(d) && d > 0;
}

function fmtDim(d) {
  return isStaticDim(d) ? String(d) : typeof d === 'string' && d !== '' ? d : '?';
}

function parseShape(s) {
  const parts = s.split(/[,x]/).map((p) => p.trim());
  if (!parts.length || parts.some((p) => !/^\d+$/.test(p) || Number(p) === 0)) {
    fail(`bad --shape '${s}': expected comma-separated positive integers, e.g. 1,3,520,520`);
  }
  return parts.map(Number);
}

function parseSize(s) {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) fail(`bad --size '${s}': expected WxH, e.g. 520x520`);
  return { w: Number(m[1]), h: Number(m[2]) };
}

// Resolve the benchmark input shape from --shape, the model metadata and --size.
function resolveShape(opts, meta) {
  if (opts.shape) return { shape: parseShape(opts.shape), source: 'shape' };
  const dims = meta && Array.isArray(meta.shape) ? meta.shape : null;
  if (dims && dims.length && dims.every(isStaticDim)) {
    if (opts.size && dims.length === 4) {
      const { w, h } = parseSize(opts.size);
      const nhwc = dims[3] === 3 && dims[1] !== 3;
      const [mh, mw] = nhwc ? [dims[1], dims[2]] : [dims[2], dims[3]];
      if (mh !== h || mw !== w) {
        process.stderr.write(`${PROG}: warning: --size ${opts.size} ignored, model input is static ` +
          `[${dims.join(',')}]\n`);
      }
    }
    return { shape: dims.slice(), source: 'model' };
  }
  if (!opts.size) {
    const shown = dims ? `[${dims.map(fmtDim).join(',')}]` : '(unknown shape)';
    fail(`model input '${meta ? meta.name : '?'}' has a dynamic shape ${shown}; pass --shape N,C,H,W or --size WxH`);
  }
  const { w, h } = parseSize(opts.size);
  if (dims && dims.length !== 4) {
    fail(`model input has rank ${dims.length} with dynamic dims; --size needs a rank-4 image input, use --shape`);
  }
  const d = dims ?? ['n', 'c', 'h', 'w'];
  const nhwc = d[3] === 3 && d[1] !== 3;
  const want = nhwc ? [1, h, w, 3] : [1, 3, h, w];
  return { shape: d.map((x, i) => (isStaticDim(x) ? x : want[i])), source: 'size' };
}

// Deterministic PRNG (mulberry32) for reproducible bench input.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function toFloat32(tensor) {
  const d = tensor.data;
  if (d instanceof Float32Array) return d;
  if (typeof d === 'object' && d !== null && typeof d.length === 'number') {
    process.stderr.write(`${PROG}: note: output type ${tensor.type} converted to float32\n`);
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
    return out;
  }
  fail(`output of type ${tensor.type} cannot be written as float32 .npy`);
}

// ---------------------------------------------------------------- subcommands

async function cmdRun(argv) {
  const opts = parseArgs('run', argv);
  const model = requireOpt('run', opts, 'model');
  const input = requireOpt('run', opts, 'input');
  const output = requireOpt('run', opts, 'output');
  const threads = opts.threads ?? 2;
  if (threads < 1) fail('run: --threads must be >= 1');
  requireFile('model', model);
  const npy = readNpy(input);
  const ort = loadOrt();
  const { session } = await createSession(ort, model, threads);
  const inp = metaOf(session, 'input', opts['input-name']);
  const out = metaOf(session, 'output', opts['output-name']);
  if (inp.meta && inp.meta.type && inp.meta.type !== 'float32') {
    fail(`model input '${inp.name}' has type ${inp.meta.type}; only float32 inputs are supported`);
  }
  if (inp.meta && Array.isArray(inp.meta.shape)) {
    const ms = inp.meta.shape;
    const ok = ms.length === npy.shape.length && ms.every((d, i) => !isStaticDim(d) || d === npy.shape[i]);
    if (!ok) {
      fail(`input shape [${npy.shape}] from ${input} does not match model input '${inp.name}' ` +
        `[${ms.map(fmtDim).join(',')}]`);
    }
  }
  const feeds = { [inp.name]: new ort.Tensor('float32', npy.data, npy.shape) };
  let results;
  try {
    results = await session.run(feeds, [out.name]);
  } catch (e) {
    fail(`inference failed: ${oneLine(e)}`);
  }
  const t = results[out.name];
  const dims = Array.from(t.dims);
  writeNpy(output, dims, toFloat32(t));
  process.stdout.write(`${PROG}: onnxruntime ${ortVersion(ort)}: ${inp.name} [${npy.shape.join(',')}] -> ` +
    `${out.name} [${dims.join(',')}] written to ${output}\n`);
  await releaseSession(session);
}

async function releaseSession(session) {
  try {
    if (session && typeof session.release === 'function') await session.release();
  } catch { /* ignore */ }
}

function stats(ms) {
  const s = ms.slice().sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  return { median, min: s[0], max: s[n - 1], mean };
}

const r3 = (x) => Math.round(x * 1000) / 1000;

async function cmdBench(argv) {
  const opts = parseArgs('bench', argv);
  const model = requireOpt('bench', opts, 'model');
  const threads = opts.threads ?? 2;
  const iters = opts.iters ?? 20;
  const warmup = opts.warmup ?? 3;
  const seed = opts.seed ?? 1234;
  if (threads < 1) fail('bench: --threads must be >= 1');
  if (iters < 1) fail('bench: --iters must be >= 1');
  if (opts.shape) parseShape(opts.shape);
  if (opts.size) parseSize(opts.size);
  requireFile('model', model);
  const ort = loadOrt();
  const { session, createMs } = await createSession(ort, model, threads);
  const inp = metaOf(session, 'input', opts['input-name']);
  if (inp.meta && inp.meta.type && inp.meta.type !== 'float32') {
    fail(`model input '${inp.name}' has type ${inp.meta.type}; only float32 inputs are supported`);
  }
  const { shape } = resolveShape(opts, inp.meta ? { ...inp.meta, name: inp.name } : { name: inp.name });
  const count = shape.reduce((a, b) => a * b, 1);
  const rnd = mulberry32(seed);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = rnd() * 2 - 1;
  const feeds = { [inp.name]: new ort.Tensor('float32', data, shape) };
  const runOnce = async () => {
    try {
      return await session.run(feeds);
    } catch (e) {
      fail(`inference failed for input shape [${shape.join(',')}]: ${oneLine(e)}`);
    }
  };
  for (let i = 0; i < warmup; i++) await runOnce();
  const times = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await runOnce();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const st = stats(times);
  const version = ortVersion(ort);
  if (opts.json) {
    const rec = {
      runtime: 'onnxruntime',
      version,
      model,
      shape,
      threads,
      iters,
      warmup,
      infer_ms_median: r3(st.median),
      infer_ms_min: r3(st.min),
      infer_ms_mean: r3(st.mean),
      infer_ms_max: r3(st.max),
      total_ms_median: r3(st.median),
      session_create_ms: r3(createMs),
    };
    process.stdout.write(JSON.stringify(rec) + '\n');
  } else {
    process.stdout.write(`onnxruntime ${version} ${path.basename(model)} shape=${shape.join('x')} ` +
      `threads=${threads} iters=${iters} warmup=${warmup}: infer median ${st.median.toFixed(2)} ms, ` +
      `min ${st.min.toFixed(2)} ms, mean ${st.mean.toFixed(2)} ms, max ${st.max.toFixed(2)} ms; ` +
      `session create ${createMs.toFixed(1)} ms\n`);
  }
  await releaseSession(session);
}

async function cmdInfo(argv) {
  const opts = parseArgs('info', argv);
  const model = requireOpt('info', opts, 'model');
  requireFile('model', model);
  const ort = loadOrt();
  const { session } = await createSession(ort, model, 1);
  const desc = (which) => {
    const names = which === 'input' ? session.inputNames : session.outputNames;
    return names.map((n) => {
      const { meta } = metaOf(session, which, n);
      return {
        name: n,
        type: meta && meta.type ? meta.type : null,
        shape: meta && Array.isArray(meta.shape) ? meta.shape.map((d) => (isStaticDim(d) ? d : fmtDim(d))) : null,
      };
    });
  };
  const info = { runtime: 'onnxruntime', version: ortVersion(ort), model, inputs: desc('input'), outputs: desc('output') };
  if (opts.json) {
    process.stdout.write(JSON.stringify(info) + '\n');
  } else {
    const line = (x) => `${x.name}: ${x.type ?? '?'} [${x.shape ? x.shape.join(',') : '?'}]`;
    process.stdout.write(`${model} (onnxruntime ${info.version})\n` +
      info.inputs.map((x) => `  input  ${line(x)}\n`).join('') +
      info.outputs.map((x) => `  output ${line(x)}\n`).join(''));
  }
  await releaseSession(session);
}

// report FILE.jsonl: markdown table from the JSONL written by scripts/bench-vs-ort.sh.
// Each line: {"kind":"meta",...} or {"kind":"run","tool":"ort"|"deeplab","model":...,"size":"WxH",
// "threads":N,"iters":N,"round":R,"rc":0,"result":{...raw JSON line of the tool...}}.
function cmdReport(argv) {
  if (argv.length !== 1 || argv[0].startsWith('--')) fail('report: usage: report FILE.jsonl');
  const file = argv[0];
  requireFile('report input', file);
  const rows = new Map();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((ln, i) => {
    if (!ln.trim()) return;
    let rec;
    try {
      rec = JSON.parse(ln);
    } catch {
      fail(`report: ${file}:${i + 1}: not valid JSON`);
    }
    if (rec.kind !== 'run') return;
    const key = `${rec.model}\u0000${rec.size}\u0000${rec.threads}`;
    if (!rows.has(key)) {
      rows.set(key, { model: rec.model, size: rec.size, threads: rec.threads, ort: [], dlInfer: [], dlTotal: [],
        ortErr: null, dlErr: null });
    }
    const row = rows.get(key);
    const res = rec.result && typeof rec.result === 'object' ? rec.result : null;
    const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    if (rec.tool === 'ort') {
      if (rec.rc === 0 && res && num(res.infer_ms_median) !== null) row.ort.push(res.infer_ms_median);
      else row.ortErr = rec.status || 'failed';
    } else if (rec.tool === 'deeplab') {
      if (rec.rc === 0 && res && num(res.infer_ms_median) !== null) {
        row.dlInfer.push(res.infer_ms_median);
        if (num(res.total_ms_median) !== null) row.dlTotal.push(res.total_ms_median);
      } else {
        row.dlErr = rec.status || 'failed';
      }
    }
  });
  const med = (a) => (a.length ? stats(a).median : null);
  // Failure cells show the status up to its first ':' (e.g. "failed (rc=2)", "missing model").
  const cell = (v, err) => (v !== null ? v.toFixed(2) : err ? String(err).split(':')[0].replace(/\|/g, '/') : 'n/a');
  const out = [
    '| model | size | threads | ORT infer ms (median) | deeplab infer ms (median) | ' +
      'deeplab total ms (frame -> class map, median) | ratio ORT/deeplab (infer) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows.values()) {
    const o = med(r.ort);
    const di = med(r.dlInfer);
    const dt = med(r.dlTotal);
    const ratio = o !== null && di !== null && di > 0 ? (o / di).toFixed(2) : 'n/a';
    out.push(`| ${path.basename(r.model)} | ${r.size} | ${r.threads} | ${cell(o, r.ortErr)} | ` +
      `${cell(di, r.dlErr)} | ${cell(dt, r.dlErr)} | ${ratio} |`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    if (cmd === undefined) fail('missing subcommand (run, bench, info or report); see --help');
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (os.endianness() !== 'LE') fail('big-endian hosts are not supported');
  switch (cmd) {
    case 'run': return cmdRun(rest);
    case 'bench': return cmdBench(rest);
    case 'info': return cmdInfo(rest);
    case 'report': return cmdReport(rest);
    default: fail(`unknown subcommand '${cmd}' (expected run, bench, info or report; see --help)`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    const msg = e instanceof UsageError ? e.message : `unexpected error: ${oneLine(e)}`;
    process.stderr.write(`${PROG}: error: ${msg}\n`);
    process.exit(2);
  },
);
