"""Quality benchmark of test/bench/quality: dlfin against peers on credit data.

Usage: quality.py CSV SIZES SPLITS SEEDS DLFIN_OPTIONS [PEERS]

Runs psql (PGHOST/PGPORT/PGUSER from the environment) against a database
with the dlfin extension.  For each split (stratified, seeded): 20 % of the
rows are held out, and a stratified sample of SIZE rows of the rest trains
every model ("all" takes the whole 80 %).  The held-out AUC (`bad' is the
positive class) is averaged over the splits; dlfin's seed-to-seed sd is
over SEEDS seeds on the first split.  Peers see the same rows, median-
imputed and standardised numeric columns and one-hot categories (missing
as its own level), as data/README.md's reference figures do.
"""
import csv
import json
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

NUM = ["Seniority", "Time", "Age", "Expenses", "Income", "Assets", "Debt",
       "Amount", "Price"]
CAT = ["Home", "Marital", "Records", "Job"]
COLS = ["seniority", "home", "time", "age", "marital", "records", "job",
        "expenses", "income", "assets", "debt", "amount", "price"]


def psql(sql):
    """Runs SQL through psql; returns the output lines."""
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"],
                         input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("psql failed: " + out.stderr)
    return [l for l in out.stdout.splitlines() if l]


def auc(score, y):
    """Exact ROC AUC with ties averaged."""
    from scipy.stats import rankdata
    score = np.asarray(score, dtype=float)
    y = np.asarray(y)
    r = rankdata(score)
    pos = y == 1
    npos = pos.sum()
    nneg = len(y) - npos
    return (r[pos].sum() - npos * (npos + 1) / 2) / (npos * nneg)


def load(path):
    """Reads the CSV into a list of dicts (empty string = missing)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def encode(rows, tr):
    """Peers' encoding, fitted on the training indexes tr."""
    cols = []
    for c in NUM:
        v = np.array([float(r[c]) if r[c] != "" else np.nan for r in rows])
        med = np.nanmedian(v[tr])
        v = np.where(np.isnan(v), med, v)
        mu, sd = v[tr].mean(), v[tr].std() or 1.0
        cols.append(((v - mu) / sd)[:, None])
    for c in CAT:
        levels = sorted({rows[i][c] for i in tr})
        v = [r[c] for r in rows]
        cols.append(np.array([[1.0 if x == l else 0.0 for l in levels]
                              for x in v]))
    return np.hstack(cols)


def split(y, size, seed):
    """Stratified 80/20 split, then a stratified sample of size rows."""
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=0.2, stratify=y,
                                  random_state=seed)
    if size != "all" and int(size) < len(rest):
        rest, _ = train_test_split(rest, train_size=int(size),
                                   stratify=y[rest], random_state=seed)
    return np.sort(rest), np.sort(test)


def torch_mlp(x, y, xte, seed):
    """PyTorch MLP [32,16], Adam 1e-3, batch 64, early stopping (10 %)."""
    import torch
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    rng = np.random.RandomState(seed)
    perm = rng.permutation(len(y))
    nv = max(1, len(y) // 10)
    va, tr = perm[:nv], perm[nv:]
    X = torch.tensor(x, dtype=torch.float32)
    Y = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = torch.nn.BCEWithLogitsLoss()
    best, best_state, since = float("inf"), None, 0
    for _ in range(200):
        p = tr[rng.permutation(len(tr))]
        for s in range(0, len(p), 64):
            b = p[s:s + 64]
            opt.zero_grad()
            lossf(net(X[b]), Y[b]).backward()
            opt.step()
        with torch.no_grad():
            v = lossf(net(X[va]), Y[va]).item()
        if v < best - 1e-6:
            best, since = v, 0
            best_state = {k: t.clone() for k, t in net.state_dict().items()}
        else:
            since += 1
            if since >= 10:
                break
    net.load_state_dict(best_state)
    with torch.no_grad():
        return torch.sigmoid(net(torch.tensor(xte, dtype=torch.float32))).numpy().ravel()


def peers(x, y, xte, seed, which):
    """Held-out scores of each peer."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    out = {}
    warnings.simplefilter("ignore")
    if "lr" in which:
        out["LogisticRegression"] = LogisticRegression(max_iter=1000).fit(x, y).predict_proba(xte)[:, 1]
    if "mlp" in which:
        out["MLP lbfgs"] = MLPClassifier((32, 16), solver="lbfgs", max_iter=200,
                                         random_state=seed).fit(x, y).predict_proba(xte)[:, 1]
        out["MLP adam+es"] = MLPClassifier((32, 16), early_stopping=True,
                                           random_state=seed).fit(x, y).predict_proba(xte)[:, 1]
    if "hgb" in which:
        out["HistGradientBoosting"] = HistGradientBoostingClassifier(random_state=seed).fit(x, y).predict_proba(xte)[:, 1]
    if "torch" in which:
        out["PyTorch MLP"] = torch_mlp(x, y, xte, seed)
    return out


def dlfin(tr, te, options, seed):
    """Trains dlfin on rows tr (ids), scores te; returns (scores, seconds)."""
    opts = dict(json.loads(options))
    opts.setdefault("positive", "bad")
    opts["seed"] = seed
    ids = ",".join(str(i) for i in tr)
    tids = ",".join(str(i) for i in te)
    cols = ", ".join(COLS)
    lines = psql(f"""
SET dlfin.threads = 2;
DROP TABLE IF EXISTS q_model;
CREATE TEMP TABLE q_t0 AS SELECT clock_timestamp() AS t;
CREATE TEMP TABLE q_model AS SELECT dlfin_train('{json.dumps(opts)}'::jsonb, status, {cols}) AS model
  FROM q_credit WHERE id IN ({ids});
SELECT extract(epoch FROM clock_timestamp() - t) FROM q_t0;
SELECT id, dlfin_predict(model, {cols}) FROM q_credit, q_model WHERE id IN ({tids}) ORDER BY id;
""")
    secs = float(lines[0])
    scores = [float(l.split("|")[1]) for l in lines[1:]]
    return np.array(scores), secs


def main():
    path, sizes, nsplits, nseeds, options = sys.argv[1:6]
    which = sys.argv[6].split(",") if len(sys.argv) > 6 else ["lr", "mlp", "hgb", "torch"]
    rows = load(path)
    y = np.array([1 if r["Status"] == "bad" else 0 for r in rows])
    psql(f"""
DROP TABLE IF EXISTS q_credit;
CREATE TABLE q_credit (id int GENERATED BY DEFAULT AS IDENTITY (MINVALUE 0 START 0), status text, seniority int, home text, time int, age int,
  marital text, records text, job text, expenses int, income int, assets int, debt int,
  amount int, price int);
\\copy q_credit (status, seniority, home, time, age, marital, records, job, expenses, income, assets, debt, amount, price) FROM '{path}' CSV HEADER
""")
    # ids are file positions: the identity counts from 0 in COPY's order
    print(f"dlfin options: {options}; splits {nsplits}, seeds {nseeds}")
    print(f"{'size':>6} {'model':<22} {'mean AUC':>9} {'sd':>7}  notes")
    for size in sizes.split(","):
        res = {}
        times = []
        seed_aucs = []
        for s in range(int(nsplits)):
            tr, te = split(y, size, 1000 + s)
            sc, secs = dlfin(tr, te, options, 42)
            times.append(secs)
            res.setdefault("dlfin", []).append(auc(sc, y[te]))
            x = encode(rows, tr)
            for k, v in peers(x[tr], y[tr], x[te], s, which).items():
                res.setdefault(k, []).append(auc(v, y[te]))
        tr, te = split(y, size, 1000)
        for seed in range(1, int(nseeds) + 1):
            sc, _ = dlfin(tr, te, options, seed)
            seed_aucs.append(auc(sc, y[te]))
        for k, v in res.items():
            sd = statistics.stdev(v) if len(v) > 1 else float("nan")
            note = ""
            if k.startswith("dlfin"):
                ssd = statistics.stdev(seed_aucs) if len(seed_aucs) > 1 else float("nan")
                note = f"seed sd {ssd:.4f}, train {statistics.median(times):.2f} s (median)"
            print(f"{size:>6} {k:<22} {statistics.mean(v):9.4f} {sd:7.4f}  {note}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
