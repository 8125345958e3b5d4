"""A deliberately straightforward re-statement of DNABERT-viz motif discovery (test oracle).

Plain Python loops, direct substring tests (``pattern in seq``), a position-by-position
alignment, ``scipy.stats.hypergeom`` and a textbook Benjamini-Hochberg. It shares no code with
``dnalm.motifs``; the tests check that both give the same motifs, windows and p-values.
Semantics follow the DNABERT reference (``motif/find_motifs.py``) with the tie rules that
``dnalm.motifs`` documents: earliest-created key wins between keys; between offsets of one
key, the one Biopython's ``PairwiseAligner`` (end gaps free) returns first: the largest optimal
offset at which the key runs past the query's right end, else the smallest optimal offset.
"""

from __future__ import annotations

from scipy.stats import hypergeom


def regions(score, min_len):
    """Maximal runs where score > mean and score > 10 * min, at least min_len long."""
    vals = [float(v) for v in score]
    mean = sum(vals) / len(vals)
    low = min(vals)
    out = []
    start = None
    for j, v in enumerate(vals + [None]):
        high = v is not None and v > mean and v > 10 * low
        if high and start is None:
            start = j
        elif not high and start is not None:
            if j - start >= min_len:
                out.append((start, j))
            start = None
    return out


def bh(pvals):
    m = len(pvals)
    order = sorted(range(m), key=lambda i: (pvals[i], i))
    adj = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvals[i] * m / rank)
        adj[i] = min(running, 1.0)
    return adj


def align(query, key):
    """(score, offset): key[0] sits at query[offset]; ties as Biopython's first alignment."""
    matches = {}
    for off in range(-(len(key) - 1), len(query)):
        n = 0
        for j in range(len(key)):
            qi = off + j
            if 0 <= qi < len(query) and query[qi] == key[j]:
                n += 1
        matches[off] = n
    best = max(matches.values())
    optimal = [off for off in sorted(matches) if matches[off] == best]
    past_end = [off for off in optimal if off > len(query) - len(key)]
    return best, (past_end[-1] if past_end else optimal[0])


def oracle_find_motifs(
    seqs, scores, positive, min_len=5, window=24, pval_cutoff=0.005, min_n_motif=3
):
    """Returns (candidates: {cand: (n, x, p, padj)}, motifs: {key: [(seq, start, end, cand)]})."""
    seqs = [s.upper() for s in seqs]
    cand_inst = {}
    for i, seq in enumerate(seqs):
        if not positive[i]:
            continue
        for s, e in regions(scores[i][: len(seq)], min_len):
            cand_inst.setdefault(seq[s:e], []).append((i, s, e))
    cands = list(cand_inst)
    n_seqs = len(seqs)
    n_posseq = sum(1 for p in positive if p)
    pvals, stats = [], []
    for c in cands:
        n = 0
        x = 0
        for i, seq in enumerate(seqs):
            if c in seq:
                n += 1
                if positive[i]:
                    x += 1
        stats.append((n, x))
        pvals.append(float(hypergeom.sf(x - 1, n_seqs, n_posseq, n)))
    padj = bh(pvals)
    table = {c: (stats[i][0], stats[i][1], pvals[i], padj[i]) for i, c in enumerate(cands)}
    kept = [c for c in cands if table[c][3] < pval_cutoff]
    keys = []
    groups = {}
    for q in sorted(kept, key=len):
        best_key, best_score, best_off = None, None, None
        for key in keys:
            score, off = align(q, key)
            if score >= max(min_len - 1, 0.5 * min(len(q), len(key))):
                if best_score is None or score > best_score:
                    best_key, best_score, best_off = key, score, off
        if best_key is None:
            keys.append(q)
            groups[q] = [(i, s, e, q) for i, s, e in cand_inst[q]]
        else:
            for i, s, _e in cand_inst[q]:
                groups[best_key].append((i, s + best_off, s + best_off + len(best_key), q))
    motifs = {}
    for key in keys:
        wins = []
        for i, s, e, c in groups[key]:
            extra = window - (e - s)
            if extra % 2 == 0:
                ns, ne = s - extra // 2, e + extra // 2
            else:
                ns, ne = s - (extra // 2), e + (extra // 2) + 1
            if ns >= 0 and ne < len(seqs[i]):
                wins.append((i, ns, ne, c))
        if len(wins) >= min_n_motif:
            motifs[key] = wins
    return table, motifs


def planted_dataset(
    rng,
    n_seqs=200,
    length=101,
    motifs=("TGACTCAGCA", "CCGCGTGGCGG"),
    frac_pos=0.5,
    plant_rate=0.8,
    neg_rate=0.05,
    mutate=0.3,
    jitter=2,
    decoys=1,
):
    """Random sequences; positives carry planted motifs under high-attention spans.

    Returns (seqs, scores (n, length) float32, positive bool (n,)). Deterministic for a given
    ``numpy.random.Generator`` state.
    """
    import numpy as np

    bases = np.array(list("ACGT"))
    seqs, scores = [], np.zeros((n_seqs, length), dtype=np.float32)
    positive = rng.random(n_seqs) < frac_pos
    for i in range(n_seqs):
        s = list(bases[rng.integers(0, 4, length)])
        att = rng.uniform(0.01, 0.05, length)
        rate = plant_rate if positive[i] else neg_rate
        if rng.random() < rate:
            m = list(motifs[rng.integers(0, len(motifs))])
            if rng.random() < mutate:
                j = rng.integers(0, len(m))
                m[j] = bases[rng.integers(0, 4)]
            start = int(rng.integers(0, length - len(m) + 1))
            s[start : start + len(m)] = m
            if positive[i]:
                a = max(0, start - int(rng.integers(0, jitter + 1)))
                b = min(length, start + len(m) + int(rng.integers(0, jitter + 1)))
                att[a:b] = rng.uniform(0.5, 1.0, b - a)
        for _ in range(decoys if positive[i] else 0):
            w = int(rng.integers(5, 9))
            a = int(rng.integers(0, length - w + 1))
            if att[a : a + w].max() < 0.2:
                att[a : a + w] = rng.uniform(0.5, 1.0, w)
        seqs.append("".join(s))
        scores[i] = att / np.linalg.norm(att)
    return seqs, scores, positive
