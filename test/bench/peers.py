"""Peers of test/bench/run: PyTorch and scikit-learn on the exported rows.

Usage: peers.py {torch|sklearn|torch-onehot} TRAIN_CSV TEST_CSV THREADS EPOCHS BATCH REPS

The CSV files hold the label (0/1) then the 8 features, as COPY writes
them; for torch-onehot (test/bench/run --mixed) the features are numbers
followed by text columns, which are one-hot encoded over the training
file's categories (one column per category, as dlfin's first layer sees
them) before the standardised numbers.
Prints one line per repetition: "train_seconds auc" (train-only: from the
numpy arrays to the fitted model; loading the CSV is timed separately and
printed as "load_seconds").  Both peers get what dlfin does: standardised
features, hidden [32,16] with ReLU, Adam with learning rate 1e-3, batch
BATCH, EPOCHS epochs, shuffling every epoch, no early stopping, THREADS
threads.  Tensors are sliced directly (no DataLoader), as a tuned user
would.
"""
import os
import sys
import time
import warnings

import numpy as np


def load(path):
    """Reads label and features from a COPY csv file (pandas if present)."""
    t0 = time.perf_counter()
    try:
        import pandas
        raw = pandas.read_csv(path, header=None, dtype=np.float64).to_numpy()
    except ImportError:
        raw = np.loadtxt(path, delimiter=",", dtype=np.float64)
    y = raw[:, 0].astype(np.float32)
    x = np.ascontiguousarray(raw[:, 1:])
    return x, y, time.perf_counter() - t0


def load_onehot(train_path, test_path):
    """Reads both files; text columns become one-hot columns (train's categories)."""
    import csv
    t0 = time.perf_counter()
    rows = [list(csv.reader(open(p, newline=""))) for p in (train_path, test_path)]
    secs = time.perf_counter() - t0
    first = rows[0][0]
    text = []
    for j in range(1, len(first)):
        try:
            float(first[j])
        except ValueError:
            text.append(j)
    nums = [j for j in range(1, len(first)) if j not in text]
    cats = {j: sorted({r[j] for r in rows[0]}) for j in text}
    out = []
    for part in rows:
        y = np.array([float(r[0]) for r in part], dtype=np.float32)
        cols = [np.array([[float(r[j]) for j in nums] for r in part])]
        for j in text:
            code = {c: k for k, c in enumerate(cats[j])}
            idx = np.array([code.get(r[j], -1) for r in part])
            hot = np.zeros((len(part), len(cats[j])))
            ok = idx >= 0
            hot[np.nonzero(ok)[0], idx[ok]] = 1.0
            cols.append(hot)
        out.append((cols, y))
    # standardise the numbers with the training statistics, as dlfin does
    mu = out[0][0][0].mean(axis=0)
    sd = out[0][0][0].std(axis=0)
    sd[sd == 0] = 1.0
    for cols, _ in out:
        cols[0] = (cols[0] - mu) / sd
    return (np.hstack(out[0][0]), out[0][1], np.hstack(out[1][0]), out[1][1],
            secs)


def auc(score, y):
    """Exact ROC AUC with ties averaged (rank formula)."""
    from scipy.stats import rankdata
    r = rankdata(score)
    pos = y > 0.5
    npos = pos.sum()
    nneg = len(y) - npos
    return (r[pos].sum() - npos * (npos + 1) / 2) / (npos * nneg)


def run_torch(xtr, ytr, xte, yte, threads, epochs, batch, seed):
    """Trains the MLP with PyTorch; returns (seconds, auc)."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    X = torch.from_numpy(xtr.astype(np.float32))
    Y = torch.from_numpy(ytr).reshape(-1, 1)
    model = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], 32), torch.nn.ReLU(),
        torch.nn.Linear(32, 16), torch.nn.ReLU(),
        torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.BCEWithLogitsLoss()
    n = X.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
    secs = time.perf_counter() - t0
    with torch.no_grad():
        p = model(torch.from_numpy(xte.astype(np.float32))).numpy().ravel()
    return secs, auc(p, yte)


def run_sklearn(xtr, ytr, xte, yte, threads, epochs, batch, seed):
    """Trains sklearn's MLPClassifier; returns (seconds, auc)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    warnings.simplefilter("ignore", ConvergenceWarning)
    t0 = time.perf_counter()
    clf = MLPClassifier(hidden_layer_sizes=(32, 16), activation="relu",
                        solver="adam", learning_rate_init=1e-3,
                        batch_size=batch, max_iter=epochs, shuffle=True,
                        early_stopping=False, tol=0.0,
                        n_iter_no_change=epochs + 1, random_state=seed)
    clf.fit(xtr, ytr.astype(int))
    secs = time.perf_counter() - t0
    p = clf.predict_proba(xte)[:, 1]
    return secs, auc(p, yte)


def main():
    which, train_csv, test_csv = sys.argv[1:4]
    threads, epochs, batch, reps = map(int, sys.argv[4:8])
    if which == "torch-onehot":
        xtr, ytr, xte, yte, load_secs = load_onehot(train_csv, test_csv)
    else:
        xtr, ytr, load_secs = load(train_csv)
        xte, yte, _ = load(test_csv)
        # standardise with the training statistics, as dlfin does
        mu = xtr.mean(axis=0)
        sd = xtr.std(axis=0)
        sd[sd == 0] = 1.0
        xtr = (xtr - mu) / sd
        xte = (xte - mu) / sd
    print("load_seconds %.4f" % load_secs, flush=True)
    fn = run_sklearn if which == "sklearn" else run_torch
    for r in range(reps):
        secs, a = fn(xtr, ytr, xte, yte, threads, epochs, batch, 42 + r)
        print("%.4f %.6f" % (secs, a), flush=True)


if __name__ == "__main__":
    main()
