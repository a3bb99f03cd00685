// test/onnx/check_sklearn.js: runs the skl2onnx-shaped graphs of
// sklearn_models.py in onnxruntime-node, to show they are graphs a runtime
// executes as scikit-learn predicts (labels identical, regression within
// 1e-5), so that importing them tests what it claims.
//
//   node check_sklearn.js cases.json
//
// cases.json: [{"name", "onnx": base64, "rows": [[x1..x6]], "labels": [...]
// or null, "values": [...] or null}].  Exits 1 on a difference.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  let fail = 0;
  for (const c of cases) {
    const s = await ort.InferenceSession.create(Buffer.from(c.onnx, 'base64'));
    const n = c.rows.length;
    const x = new ort.Tensor('float32', Float32Array.from(c.rows.flat()), [n, c.rows[0].length]);
    // ZipMap's list of maps is not a tensor, which onnxruntime-node cannot return
    const out = await s.run({ X: x }, [c.labels ? 'output_label' : 'variable']);
    let bad = 0, maxDiff = 0;
    for (let i = 0; i < n; i++) {
      if (c.labels) bad += String(out.output_label.data[i]) !== String(c.labels[i]);
      else maxDiff = Math.max(maxDiff, Math.abs(out.variable.data[i] - c.values[i]));
    }
    const ok = bad === 0 && maxDiff <= 1e-5;
    console.log(`${ok ? 'ok' : 'FAIL'} ${c.name} in onnxruntime: ${n} rows, ` +
                (c.labels ? `label mismatches ${bad}` : `max |diff| ${maxDiff.toExponential(2)}`));
    fail |= !ok;
  }
  process.exit(fail ? 1 : 0);
}
main().catch((e) => { console.error(e.message || e); process.exit(2); });
