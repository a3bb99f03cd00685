// test/onnx/check_ort.js: scores rows with onnxruntime-node and compares the
// outputs with what dlfin computed for the same rows.
//
//   node check_ort.js model.onnx cases.json
//
// cases.json: {"features": [{"name": ..., "text": bool}], "rows": [[v, ...]],
// "score": [...], "proba": [[...]] or null, "label": [...] or null}; a null
// value is NULL: NaN for a numeric input, "" for a text one.  Prints the
// largest absolute differences; exits 1 beyond 1e-5 or on a label mismatch.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, casesPath] = process.argv.slice(2);
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  const session = await ort.InferenceSession.create(fs.readFileSync(modelPath));
  const n = cases.rows.length;
  const feeds = {};
  cases.features.forEach((f, j) => {
    if (f.text) {
      const v = cases.rows.map((r) => (r[j] === null ? '' : String(r[j])));
      feeds[f.name] = new ort.Tensor('string', v, [n, 1]);
    } else {
      const v = Float64Array.from(cases.rows, (r) => (r[j] === null ? NaN : Number(r[j])));
      feeds[f.name] = new ort.Tensor('float64', v, [n, 1]);
    }
  });
  const out = await session.run(feeds);
  let maxScore = 0, maxProba = 0, badLabels = 0;
  for (let i = 0; i < n; i++) {
    maxScore = Math.max(maxScore, Math.abs(out.score.data[i] - cases.score[i]));
    if (cases.proba) {
      const k = cases.proba[i].length;
      for (let c = 0; c < k; c++)
        maxProba = Math.max(maxProba, Math.abs(out.probabilities.data[i * k + c] - cases.proba[i][c]));
    }
    if (cases.label && out.label.data[i] !== cases.label[i]) badLabels++;
  }
  const ok = maxScore <= 1e-5 && maxProba <= 1e-5 && badLabels === 0 && !Number.isNaN(maxScore);
  console.log(`${ok ? 'ok' : 'FAIL'} ${modelPath}: ${n} rows, max |score diff| ${maxScore.toExponential(2)}, ` +
              `max |probability diff| ${maxProba.toExponential(2)}, label mismatches ${badLabels}`);
  process.exit(ok ? 0 : 1);
}
main().catch((e) => { console.error(e.message || e); process.exit(2); });
