"""Dinucleotide-preserving shuffle (Altschul & Erickson 1985, Euler-path construction).

The sequence is read as a walk on a multigraph whose vertices are letters and whose edges are
the n-1 dinucleotides. A random Eulerian walk with the same first and last letter uses every
edge once, so every dinucleotide count (and every letter count) is preserved exactly:

1. For each vertex other than the final letter, pick one outgoing edge at random as its
   *last exit*. Retry until the last exits form a tree pointing at the final letter
   (otherwise the walk would get stuck before using every edge).
2. Shuffle the remaining outgoing edges of each vertex and append its last exit.
3. Walk from the first letter, always taking the next unused edge.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dinuc_shuffle"]


def _last_exits_form_tree(last: dict[str, str], end: str) -> bool:
    """True when following last-exit edges from every vertex reaches ``end`` (no cycle)."""
    for v in last:
        seen = set()
        u = v
        while u != end:
            if u in seen:
                return False
            seen.add(u)
            u = last[u]
    return True


def dinuc_shuffle(seq: str, rng: np.random.Generator, max_tries: int = 1000) -> str:
    """Shuffle ``seq`` keeping the exact count of every dinucleotide (and the end letters).

    Parameters
    ----------
    seq : str, length L
        Any alphabet; case is kept (``a`` and ``A`` are different letters).
    rng : numpy.random.Generator
    max_tries : int, optional
        Attempts at drawing a valid last-exit tree before giving up. Default is 1000.

    Returns
    -------
    shuffled : str, length L
        Same first and last letter, same dinucleotide counts.
    """
    if not isinstance(seq, str):
        raise TypeError(f"`seq` must be str, got {type(seq).__name__}")
    n = len(seq)
    if n <= 2:
        return seq
    edges: dict[str, list[str]] = {}
    for a, b in zip(seq[:-1], seq[1:], strict=True):
        edges.setdefault(a, []).append(b)
    end = seq[-1]
    verts = sorted(v for v in edges if v != end)
    for _ in range(max_tries):
        last_idx = {v: int(rng.integers(len(edges[v]))) for v in verts}
        last = {v: edges[v][i] for v, i in last_idx.items()}
        if _last_exits_form_tree(last, end):
            break
    else:  # pragma: no cover - probability vanishes for any real sequence
        raise RuntimeError("dinuc_shuffle: no valid last-exit tree found")
    order: dict[str, list[str]] = {}
    for v in sorted(edges):
        out = list(edges[v])
        tail = None
        if v in last_idx:
            tail = out.pop(last_idx[v])
        perm = rng.permutation(len(out))
        out = [out[i] for i in perm]
        if tail is not None:
            out.append(tail)
        order[v] = out[::-1]  # pop() from the end = take in order
    walk = [seq[0]]
    u = seq[0]
    for _ in range(n - 1):
        u = order[u].pop()
        walk.append(u)
    return "".join(walk)
