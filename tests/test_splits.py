"""Splits: stratified 80/10/10, seeded, grouped, chromosome held-out, zero leakage."""

from collections import Counter

import numpy as np
import pytest
from dnalm.dataset import Example
from dnalm.splits import check_no_leakage, dedupe, split_examples


def examples(n_pos=200, seed=0, dup_every=10):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_pos):
        s = "".join(rng.choice(list("ACGT"), 30))
        c = f"chr{i % 5 + 1}"
        out.append(Example(s, 1, c, i, i + 30, "+", f"p{i}", group=f"p{i}"))
        out.append(Example(s[::-1] + "A", 0, ".", None, None, ".", f"neg:{i}", group=f"p{i}"))
    for i in range(0, n_pos, dup_every):  # exact repeats, some with the other label
        out.append(out[2 * i]._replace(source_id=f"dup{i}", group=None, label=(i // dup_every) % 2))
    return out


def test_dedupe_counts_and_conflicts():
    kept, st = dedupe(examples())
    assert st["duplicates"] == 20 and st["label_conflicts"] == 10
    assert len({e.sequence for e in kept}) == len(kept) == 400


def test_stratified_fractions_balance_and_no_leakage():
    parts, st = split_examples(examples(), {"train": 0.8, "dev": 0.1, "test": 0.1}, seed=1)
    sizes = {s: len(v) for s, v in parts.items()}
    assert sizes == {"train": 320, "dev": 40, "test": 40}
    for s, v in parts.items():
        c = Counter(e.label for e in v)
        assert c[0] == c[1], s  # balanced in every split
    check_no_leakage(parts)
    seqs = [set(e.sequence for e in v) for v in parts.values()]
    assert not (seqs[0] & seqs[1]) and not (seqs[0] & seqs[2]) and not (seqs[1] & seqs[2])
    # a positive and its derived negative share a split
    where = {e.source_id: s for s, v in parts.items() for e in v}
    assert all(where[f"p{i}"] == where[f"neg:{i}"] for i in range(200))


def test_seeded_reproducible_and_seed_sensitive():
    a, _ = split_examples(examples(), seed=1)
    b, _ = split_examples(examples(), seed=1)
    c, _ = split_examples(examples(), seed=2)
    assert a == b
    assert a["test"] != c["test"]


def test_holdout_chroms():
    parts, _ = split_examples(
        examples(), seed=1, holdout_chroms={"dev": ["chr2"], "test": ["chr5"]}
    )
    assert {e.contig for e in parts["dev"] if e.contig != "."} == {"chr2"}
    assert {e.contig for e in parts["test"] if e.contig != "."} == {"chr5"}
    assert not {"chr2", "chr5"} & {e.contig for e in parts["train"]}
    assert len(parts["dev"]) == 80  # 40 positives + their 40 synthetic negatives
    with pytest.raises(ValueError, match="both"):
        split_examples(examples(), holdout_chroms={"dev": ["chr2"], "test": ["chr2"]})


def test_leakage_detector():
    e = Example("ACGT", 1)
    with pytest.raises(ValueError, match="leakage"):
        check_no_leakage({"train": [e], "test": [e._replace(label=0)]})


def test_cap_per_class_is_seeded_and_keeps_order():
    import numpy as np
    from dnalm.dataset import Example
    from dnalm.splits import cap_per_class

    exs = [Example(sequence=f"ACGT{i:04d}".replace("0", "A"), label=i % 3) for i in range(90)]
    a, dropped = cap_per_class(exs, 10, np.random.default_rng(1))
    b, _ = cap_per_class(exs, 10, np.random.default_rng(1))
    assert a == b and dropped == {0: 20, 1: 20, 2: 20}
    assert [exs.index(e) for e in a] == sorted(exs.index(e) for e in a)
    assert all(sum(e.label == c for e in a) == 10 for c in range(3))
    assert cap_per_class(exs, None, np.random.default_rng(1))[0] == exs
