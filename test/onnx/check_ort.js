// test/onnx/check_ort.js: scores rows with onnxruntime-node and compares the
// outputs with what dlfin computed for the same rows.
//
//   node check_ort.js model.onnx cases.json [tolerance]
//
// cases.json: {"features": [{"name": ..., "text": bool}], "rows": [[v, ...]],
// "score": [...], "proba": [[...]] or null, "label": [...] or null}; a null
// value is NULL: NaN for a numeric input, "" for a text one.  Prints the
// largest absolute differences; exits 1 beyond the tolerance (default 1e-5)
// or on a label mismatch.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, casesPath, tolArg] = process.argv.slice(2);
  const tol = tolArg ? Number(tolArg) : 1e-5;
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
    if (cases.proba && cases.proba[i]) {
      const k = cases.proba[i].length;
      for (let c = 0; c < k; c++)
        maxProba = Math.max(maxProba, Math.abs(out.probabilities.data[i * k + c] - cases.proba[i][c]));
    }
    if (cases.label && cases.label[i] !== null && out.label.data[i] !== cases.label[i]) badLabels++;
  }
  const ok = maxScore <= tol && maxProba <= tol && badLabels === 0 && !Number.isNaN(maxScore);
  console.log(`${ok ? 'ok' : 'FAIL'} ${modelPath}: ${n} rows, max |score diff| ${maxScore.toExponential(2)}, ` +
              `max |probability diff| ${maxProba.toExponential(2)}, label mismatches ${badLabels}` +
              (tol !== 1e-5 ? ` (tolerance ${tol})` : ''));
  process.exit(ok ? 0 : 1);
}
main().catch((e) => { console.error(e.message || e); process.exit(2); });
