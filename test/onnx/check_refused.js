// test/onnx/check_refused.js: a numeric value that dlfin_predict refuses
// (infinite, or beyond float4's range: 22000 / 22003) gives NaN outputs
// and the label "" in an export, and NULL (NaN) still scores.
//
//   node check_refused.js model.onnx cases.json
//
// cases.json as for check_ort.js; its first row is scored with its first
// numeric feature set to each value below.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, casesPath] = process.argv.slice(2);
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  const session = await ort.InferenceSession.create(fs.readFileSync(modelPath));
  const vals = [Infinity, -Infinity, 1e39, -3.1e38, NaN, 0];
  const refused = [true, true, true, true, false, false];
  const n = vals.length;
  const first = cases.features.findIndex((f) => !f.text);
  const row = cases.rows[0];
  const feeds = {};
  cases.features.forEach((f, j) => {
    const v = row[j];
    if (f.text)
      feeds[f.name] = new ort.Tensor('string', Array(n).fill(v === null ? '' : String(v)), [n, 1]);
    else
      feeds[f.name] = new ort.Tensor('float64',
        j === first ? Float64Array.from(vals) : new Float64Array(n).fill(v === null ? NaN : Number(v)), [n, 1]);
  });
  const out = await session.run(feeds);
  const k = out.probabilities ? out.probabilities.dims[1] : 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const probs = k ? Array.from(out.probabilities.data.slice(i * k, (i + 1) * k)) : [];
    const nan = Number.isNaN(out.score.data[i]) && probs.every(Number.isNaN);
    const fin = Number.isFinite(out.score.data[i]) && probs.every(Number.isFinite);
    const label = out.label ? out.label.data[i] : null;
    if (refused[i] ? !(nan && (label === null || label === '')) : !(fin && label !== ''))
      bad++;
  }
  console.log(`${bad ? 'FAIL' : 'ok'} ${modelPath}: refused inputs give NaN and label "" ` +
              `(${n - 2} values), NULL and 0 score (${bad} wrong)`);
  process.exit(bad ? 1 : 0);
}
main().catch((e) => { console.error(e.message || e); process.exit(2); });
