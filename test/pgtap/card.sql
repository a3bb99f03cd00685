-- The model card: SQLSTATEs of user errors, escaping of hostile feature
-- names, categories, class labels, group values and registry names, and
-- the page's promises (well-formed XML, no scripts, no external resources).
BEGIN;
SELECT plan(43);

CREATE TABLE card_t AS
SELECT i, CASE WHEN i % 3 = 0 THEN '<b>bad</b>' ELSE 'good & fine' END AS y,
       (i % 17)::float8 + (i % 3 = 0)::int * 4 AS x,
       (ARRAY['<script>alert(1)</script>', ']]>&amp;', '"quoted" ''single''', e'tab\tnew\nline\x01'])[1 + i % 4] AS c
FROM generate_series(1, 400) AS i;
CREATE TABLE card_m AS
SELECT dlfin_train('{"epochs": 4, "hidden": [4], "seed": 1, "positive": "<b>bad</b>",
                     "features": ["<img src=x onerror=alert(1)>", "c</td></tr></table>"]}'::jsonb,
                   y, x, c) AS model
FROM card_t;
CREATE TABLE card_h AS
SELECT dlfin_predict(m.model, t.x, t.c) AS score, t.y = '<b>bad</b>' AS label, t.c AS grp
FROM card_t t, card_m m;
CREATE TEMP TABLE card_out AS
SELECT dlfin_model_card(model, 'card_h', '{"title": "<script>x</script> & co", "group": "grp"}') AS html
FROM card_m;

-- ---- errors ----
SELECT throws_ok($$SELECT dlfin_model_card(NULL::bytea)$$, '22004', 'model must not be null', 'NULL model');
SELECT throws_ok($$SELECT dlfin_model_card('\x00'::bytea)$$, '22P03', NULL, 'garbage model bytes');
SELECT throws_ok($$SELECT dlfin_model_card(model, NULL, '[1]') FROM card_m$$, '22023',
    'model card options must be a jsonb object', 'options not an object');
SELECT throws_ok($$SELECT dlfin_model_card(model, NULL, '{"treshold": 0.3}') FROM card_m$$, '22023',
    'unknown model card option "treshold"', 'unknown option');
SELECT throws_ok($$SELECT dlfin_model_card(model, NULL, '{"threshold": 1.5}') FROM card_m$$, '22023',
    'model card option "threshold" must be a number between 0 and 1', 'threshold out of range');
SELECT throws_ok($$SELECT dlfin_model_card(model, NULL, '{"title": 3}') FROM card_m$$, '22023',
    'model card option "title" must be a string', 'title not a string');
SELECT throws_ok($$SELECT dlfin_model_card(model, NULL, '{"group": "grp"}') FROM card_m$$, '22023',
    'model card option "group" needs a held-out table', 'group without held-out rows');
SELECT throws_ok($$SELECT dlfin_model_card(model, 'card_t') FROM card_m$$, '42703',
    'held-out table public.card_t has no column "score"', 'held-out table without score');
SELECT throws_ok($$SELECT dlfin_model_card(model, 'card_h', '{"group": "region"}') FROM card_m$$, '42703',
    'held-out table public.card_h has no column "region"', 'missing group column');
SELECT throws_ok($$SELECT dlfin_model_card(model, 'no_such_table') FROM card_m$$, '42P01', NULL,
    'missing held-out table');
SELECT throws_ok($$SELECT dlfin.card_html(model, '{0.5, 0.2}', '{true}', NULL, NULL) FROM card_m$$, '2202E',
    'held-out score, label and group arrays must have the same length', 'arrays of different lengths');
SELECT throws_ok($$SELECT dlfin.card_html(model, '{NaN}', '{true}', NULL, NULL) FROM card_m$$, '22023',
    'score must not be NaN', 'NaN score');
SELECT throws_ok($$SELECT dlfin.model_card('no such model')$$, '42704',
    'dlfin model "no such model" does not exist', 'unknown registry model');
SELECT throws_ok($$SELECT dlfin.model_card(NULL)$$, '22004', NULL, 'NULL registry name');
SELECT throws_ok($$SELECT dlfin_svg_roc(s, l) FROM (VALUES ('NaN'::float8, true)) v(s, l)$$, '22023',
    'score must not be NaN', 'NaN score in a chart aggregate');

-- ---- the page ----
SELECT ok(xml_is_well_formed_document(html), 'the card is a well-formed XML document') FROM card_out;
SELECT ok(html LIKE '<!DOCTYPE html>%</html>' || chr(10), 'the card is one HTML document') FROM card_out;
SELECT ok(html NOT ILIKE '%<script%' AND html NOT ILIKE '%<img%' AND html NOT ILIKE '%<b>%',
          'no markup from the data reaches the page') FROM card_out;
SELECT ok(strpos(html, '&lt;img src=x onerror=alert(1)&gt;') > 0, 'feature names are escaped') FROM card_out;
SELECT ok(strpos(html, '&lt;script&gt;alert(1)&lt;/script&gt;') > 0, 'categories are escaped') FROM card_out;
SELECT ok(strpos(html, ']]&gt;&amp;amp;') > 0 AND strpos(html, '&quot;quoted&quot; &#39;single&#39;') > 0,
          'quotes, ampersands and CDATA ends are escaped') FROM card_out;
SELECT ok(strpos(html, '&lt;b&gt;bad&lt;/b&gt;') > 0, 'class labels are escaped') FROM card_out;
SELECT ok(strpos(html, 'Model card: &lt;script&gt;x&lt;/script&gt; &amp; co') > 0, 'the title is escaped') FROM card_out;
SELECT ok(html !~ '[\x01-\x08\x0b\x0c\x0e-\x1f]', 'control characters from the data are dropped') FROM card_out;
SELECT ok(strpos(html, 'Content-Security-Policy') > 0 AND strpos(html, 'default-src ''none''') > 0,
          'the page forbids scripts and external resources') FROM card_out;
SELECT is((SELECT count(*) FROM card_out, regexp_matches(html, '(src|href|action)="([^"#][^"]*)"', 'g') m), 0::bigint,
          'no attribute points outside the page');
SELECT is((SELECT count(*) FROM card_out, regexp_matches(html, '<svg ', 'g')), 5::bigint,
          'ROC, calibration, lift, learning curve and importance charts');
SELECT ok(html ~ 'id="identity".*id="data".*id="performance".*id="training".*id="explanation".*id="deployments"',
          'every section, in order') FROM card_out;
SELECT ok(strpos(html, 'Fairness by group') > 0 AND strpos(html, 'Drift') > 0
          AND strpos(html, 'Not available: dlfin_drift') + strpos(html, 'Not available: no table') > 0,
          'explanation sections render, drift explains why it is not available') FROM card_out;
SELECT ok(xml_is_well_formed_document(dlfin_model_card(model)), 'a card without held-out rows is well formed') FROM card_m;

-- ---- monotone constraints, drift with hostile names, calibration ----
CREATE TABLE card_mono AS
SELECT dlfin_train('{"epochs": 4, "hidden": [4], "seed": 1, "positive": "<b>bad</b>", "calibrate": "platt",
                     "adverse": "positive", "monotone": {"<img src=x onerror=alert(1)>": 1},
                     "features": ["<img src=x onerror=alert(1)>", "c</td></tr></table>"]}'::jsonb,
                   y, x, c) AS model
FROM card_t;
CREATE TABLE card_today AS SELECT x + 3 AS "<img src=x onerror=alert(1)>", c AS "c</td></tr></table>" FROM card_t;
CREATE TEMP TABLE card_mono_out AS
SELECT dlfin_model_card(model, 'card_h', '{"group": "grp", "drift": "card_today"}') AS html FROM card_mono;
SELECT ok(xml_is_well_formed_document(html) AND strpos(html, '<img') = 0, 'a card with constraints and drift is well formed, names escaped')
FROM card_mono_out;
SELECT ok(html ~ 'Monotone constraints.*&lt;img src=x onerror=alert\(1\)&gt;</td><td>increasing \(\+1\)</td><td class="good">holds',
          'the monotone constraint of the model is listed and checked') FROM card_mono_out;
SELECT ok(html ~ 'Drift \(population stability index\).*model score.*&lt;img src=x onerror=alert\(1\)&gt;</td><td class="num">[0-9.]+</td><td class="(good|warn|bad)">',
          'drift lists the score and every feature with its PSI band') FROM card_mono_out;
SELECT ok(strpos(html, 'Platt scaling') > 0 AND strpos(html, 'Validation ECE before calibration') > 0,
          'the calibration method and its ECE before and after') FROM card_mono_out;
SELECT throws_ok($$SELECT dlfin_model_card(model, NULL, '{"drift": "no_such_table"}') FROM card_m$$, '42P01', NULL,
    'unknown drift table');
SELECT throws_ok($$SELECT dlfin_model_card(model, NULL, '{"drift": "card_h"}') FROM card_m$$, '42703', NULL,
    'drift table without the feature columns');

-- ---- charts on their own ----
SELECT ok(xml_is_well_formed_document(dlfin_svg_roc(score, label)), 'dlfin_svg_roc is a well-formed SVG document') FROM card_h;
SELECT ok(xml_is_well_formed_document(dlfin_svg_calibration(score, label))
          AND xml_is_well_formed_document(dlfin_svg_lift(score, label))
          AND xml_is_well_formed_document(dlfin_svg_learning_curve((SELECT model FROM card_m))),
          'calibration, lift and learning-curve charts are well-formed SVG') FROM card_h;
SELECT ok(dlfin_svg_roc(score, label) IS NULL AND dlfin_svg_lift(score, false) IS NULL,
          'charts that need both classes are NULL with one class') FROM card_h WHERE label;
SELECT ok(xml_is_well_formed_document(dlfin_svg_importance(model)), 'the importance chart of a trained model is well-formed SVG') FROM card_m;

-- ---- the parameter count: every member and the skip path ----
CREATE TEMP TABLE card_ens AS
SELECT dlfin_train('{"epochs": 2, "hidden": [4], "seed": 1, "ensemble": 3, "skip": true}'::jsonb,
                   y, x, c) AS model
FROM card_t;
SELECT is(substring(dlfin_model_card(model) FROM '&#183; ([0-9]+) parameters')
          || '/' || substring(dlfin_model_card(model) FROM '<th>Parameters</th><td>([0-9]+)<'),
          (dlfin_model_info(model)->>'parameters') || '/' || (dlfin_model_info(model)->>'parameters'),
          'the card counts the parameters of every member and the skip path, as dlfin_model_info')
FROM card_ens;

-- ---- a registry model ----
SELECT ok(dlfin.train('card <model> & "x"', 'SELECT y, x AS "<i>x</i>", c FROM card_t', 'y',
                      '{"epochs": 3, "hidden": [4], "positive": "<b>bad</b>"}') = 1, 'registry model trained');
SELECT ok(xml_is_well_formed_document(h) AND strpos(h, 'card &lt;model&gt; &amp; &quot;x&quot;') > 0
          AND strpos(h, '&lt;i&gt;x&lt;/i&gt;') > 0 AND strpos(h, '>deploy<') > 0
          AND strpos(h, 'Warning: the rows') = 0,
          'registry card: escaped name and query, deployment history, unchanged data')
FROM dlfin.model_card('card <model> & "x"') h;

SELECT * FROM finish();
ROLLBACK;
