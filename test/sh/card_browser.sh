#!/usr/bin/env bash
# The model card in a real browser: a model trained on test/data/credit_data.csv
# (by bytes with a held-out table, and by registry name), its card checked for
# well-formedness with xmllint, rendered by headless Chromium without network,
# the screenshot checked for drawn charts (test/sh/png_check.py) and the
# browser log for console errors and blocked resources.  The charts on their
# own (dlfin_svg_*) are rendered and checked the same way.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${DLFIN_WORK:-$(mktemp -d)}/card
rm -rf "$out"
mkdir -p "$out"
chmod 755 "$out"
cp "$top/test/data/credit_data.csv" "$out/credit_data.csv"
chmod 644 "$out/credit_data.csv"

command psql -X -q -c "DROP DATABASE IF EXISTS dlfin_card" -c "CREATE DATABASE dlfin_card"
export PGDATABASE=dlfin_card
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql -v data="$out/credit_data.csv" <<'SQL'
CREATE EXTENSION dlfin;
CREATE TABLE credit (
    id serial PRIMARY KEY, status text, seniority integer, home text, time integer,
    age integer, marital text, records text, job text, expenses integer, income integer,
    assets integer, debt integer, amount integer, price integer);
\set copy_cmd '\\copy credit (status, seniority, home, time, age, marital, records, job, expenses, income, assets, debt, amount, price) FROM ' :'data' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd
UPDATE credit SET marital = '<script>alert("m")</script>' WHERE id % 97 = 0;
ALTER TABLE credit ADD COLUMN part text;
UPDATE credit SET part = dlfin_split(id, 0.2, 42);
CREATE TABLE models AS
SELECT dlfin_train('{"positive": "bad", "adverse": "positive", "seed": 7, "calibrate": "platt",
                     "monotone": {"income": -1, "seniority": -1},
                     "features": ["seniority","home","time","age",
                     "marital","records","job","expenses","income","assets","debt","amount","price"]}'::jsonb,
                   status, seniority, home, time, age, marital, records, job,
                   expenses, income, assets, debt, amount, price) AS model
FROM credit WHERE part = 'train';
CREATE TABLE heldout AS
SELECT dlfin_predict(m.model, seniority, home, time, age, marital, records, job,
                     expenses, income, assets, debt, amount, price) AS score,
       c.status = 'bad' AS label, c.home AS grp
FROM credit c, models m WHERE c.part = 'test';
-- today's applicants: the held-out ones with 30 % more income
CREATE TABLE today AS
SELECT seniority, home, time, age, marital, records, job, expenses, (income * 1.3)::integer AS income,
       assets, debt, amount, price
FROM credit WHERE part = 'test';
SELECT dlfin.train('credit_default', $$SELECT status, seniority, home, time, age, marital, records,
                   job, expenses, income, assets, debt, amount, price FROM credit$$, 'status',
                   '{"positive": "bad", "adverse": "positive", "seed": 7, "monotone": {"income": -1},
                     "optimizer": "adam"}') AS version;
SQL

# Writes the text result of a query to a file, unaligned and without headers.
to_file() {
  psql -At -c "$1" -o "$2"
  [ -s "$2" ] || { echo "empty result for: $1"; exit 1; }
}
to_file "SELECT dlfin_model_card(model, 'heldout', '{\"title\": \"credit_default <bytes>\", \"group\": \"grp\", \"drift\": \"today\"}') FROM models" "$out/card_bytes.html"
to_file "SELECT dlfin.model_card('credit_default', options => '{\"group\": \"marital\", \"drift\": \"today\"}')" "$out/card_registry.html"
# every explanation part is filled in: constraints checked, fairness, drift, calibration
for f in card_bytes card_registry; do
  for want in 'holds: no step against the constraint' 'Adverse impact ratio' 'Four-fifths rule' \
              'Equal-opportunity difference' 'model score' '>moderate<' 'Calibration method'; do
    grep -qF "$want" "$out/$f.html" || { echo "$f: no \"$want\" in the card"; exit 1; }
  done
done
grep -qF 'Platt scaling' "$out/card_bytes.html" || { echo "card_bytes: no calibration method"; exit 1; }
to_file "SELECT dlfin_svg_roc(score, label) FROM heldout" "$out/roc.svg"
to_file "SELECT dlfin_svg_calibration(score, label) FROM heldout" "$out/calibration.svg"
to_file "SELECT dlfin_svg_lift(score, label) FROM heldout" "$out/lift.svg"
to_file "SELECT dlfin_svg_learning_curve(model) FROM models" "$out/learning.svg"
to_file "SELECT dlfin_svg_importance(model) FROM models" "$out/importance.svg"

# Well-formed XML; libxml2's HTML parser (HTML 4) complains only about the
# HTML5 and SVG element names it does not know, nothing else.
for f in "$out"/*.html "$out"/*.svg; do
  xmllint --noout "$f"
done
for f in "$out"/*.html; do
  msgs=$(xmllint --html --noout "$f" 2>&1 | grep 'error' | grep -v 'Tag [a-zA-Z]* invalid' || true)
  [ -z "$msgs" ] || { echo "$f: HTML parser complaints:"; echo "$msgs"; exit 1; }
  if grep -qiE '<script|<iframe|<object|<embed|<img|<link|url\(|@import' "$f"; then
    echo "$f: active content or an external resource"; exit 1
  fi
done

# Renders a file in headless Chromium; $1 file, $2 screenshot, $3 window size.
render() {
  local profile
  profile=$(mktemp -d "$out/profile.XXXXXX")
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --disable-extensions --no-proxy-server \
    --host-resolver-rules="MAP * ~NOTFOUND" \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 \
    --screenshot="$2" --window-size="$3" "file://$1" > "$2.log" 2>&1 || {
      echo "chromium failed on $1"; tail -20 "$2.log"; exit 1; }
  rm -rf "$profile"
  [ -s "$2" ] || { echo "no screenshot of $1"; tail -20 "$2.log"; exit 1; }
  # console messages, CSP violations and failed loads are errors here
  if grep -E 'CONSOLE|Uncaught|Refused to|Content Security Policy|net::ERR_' "$2.log"; then
    echo "$1: the browser reported errors"; exit 1
  fi
}

# Control: the log check must see a blocked script and image, or it proves nothing.
sed 's|</main>|<img src="http://example.invalid/x.png"/><script>console.error(1)</script></main>|' \
  "$out/card_bytes.html" > "$out/control.html"
if (render "$out/control.html" "$out/control.png" 800,600) > /dev/null 2>&1; then
  echo "the browser log check did not catch a blocked script"; exit 1
fi

for f in card_bytes card_registry; do
  render "$out/$f.html" "$out/$f.png" 1200,9000
  python3 "$here/png_check.py" card "$out/$f.png"
done
render "$out/roc.svg" "$out/roc.png" 480,360
python3 "$here/png_check.py" chart "$out/roc.png" blue
render "$out/calibration.svg" "$out/calibration.png" 480,360
python3 "$here/png_check.py" chart "$out/calibration.png" blue
render "$out/lift.svg" "$out/lift.png" 480,360
python3 "$here/png_check.py" chart "$out/lift.png" blue vermillion
render "$out/learning.svg" "$out/learning.png" 480,360
python3 "$here/png_check.py" chart "$out/learning.png" blue orange
render "$out/importance.svg" "$out/importance.png" 640,480
python3 "$here/png_check.py" chart "$out/importance.png" green
echo "card and screenshots in $out"
