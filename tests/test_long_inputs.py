"""Long (multi-piece) inputs: attention and variant scoring through LongSeqClassifier,
per-task pooling (``tasks.<t>.long_input``) and the pooling comparison table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dnalm import kmers
from dnalm.attention.scores import attention_scores, piece_token_spans, token_to_nucleotide
from dnalm.longseq import LongSeqClassifier, encode_long, n_pieces
from dnalm.predict import predict_proba
from dnalm.variants.effects import classifier_delta

K = 4
MAX_POS = 40  # 38 k-mers per piece


def _bert():
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=kmers.vocab_size(K), hidden_size=16, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=MAX_POS,
                     attn_implementation="eager")  # fmt: skip
    torch.manual_seed(0)
    return BertModel(cfg, add_pooling_layer=True)


def _long(pooling: str = "concat", max_pieces: int = 4) -> LongSeqClassifier:
    return LongSeqClassifier(_bert(), 2, pooling, max_pieces).eval()


def _seq(rng, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), n))


def _piece_cls_attention(bert, piece_ids: np.ndarray) -> np.ndarray:
    """Last-layer [CLS] attention (summed over heads) of one piece, read from BERT's own output."""
    out = bert(input_ids=torch.from_numpy(piece_ids[None]), output_attentions=True)
    return out.attentions[-1][0, :, 0, :].sum(0).detach().numpy().astype(np.float64)


def test_piece_token_spans_match_encode_long():
    rng = np.random.default_rng(0)
    for n in (4, 41, 42, 80, 120):
        s = _seq(rng, n)
        spans = piece_token_spans(n - K + 1, K, MAX_POS)
        ids, mask, pm = encode_long([s], K, max_tokens=MAX_POS)
        assert len(spans) == pm.sum() == n_pieces(n, K, MAX_POS)
        assert spans[0][0] == 0 and spans[-1][1] == n - K + 1
        assert all(a1 == b0 for (_, b0), (a1, _) in zip(spans, spans[1:], strict=False))
        for j, (a, b) in enumerate(spans):
            assert mask[0, j].sum() == b - a + 2
            assert np.array_equal(ids[0, j, 1 : 1 + b - a], kmers.encode(s, K)[a:b])
            # piece j covers bases [a, b + K - 1)
            assert kmers.kmer2seq(kmers.decode(ids[0, j, 1 : 1 + b - a], K)) == s[a : b + K - 1]


def test_long_attention_equals_single_piece_when_it_fits():
    from transformers import BertForSequenceClassification

    long = _long("mean")
    short = BertForSequenceClassification(long.config).eval()
    short.bert.load_state_dict(long.bert.state_dict())
    rng = np.random.default_rng(1)
    seqs = [_seq(rng, n) for n in (30, 41, 12)]  # all fit one piece (<= 38 k-mers)
    a = attention_scores(long, seqs, K, batch_size=2)
    b = attention_scores(short, seqs, K, batch_size=2)
    assert a.scores.shape == b.scores.shape == (3, 41)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(a.probs, predict_proba(long, seqs, K), atol=1e-6)


def test_long_attention_stitches_pieces():
    long = _long("concat")
    rng = np.random.default_rng(2)
    seqs = [_seq(rng, n) for n in (120, 20, 90)]  # 4, 1 and 3 pieces
    res = attention_scores(long, seqs, K, batch_size=2)
    assert res.scores.shape == (3, 120) and res.probs.shape == (3, 2)
    np.testing.assert_allclose(res.probs.sum(1), 1.0)
    for i, s in enumerate(seqs):
        row = res.scores[i]
        assert np.isfinite(row[: len(s)]).all() and np.isnan(row[len(s) :]).all()
        assert np.linalg.norm(row[: len(s)]) == pytest.approx(1.0, abs=1e-5)
        # expected: each piece's [CLS] attention over its own k-mers, concatenated, spread to bases
        ids, _, pm = encode_long([s], K, max_tokens=MAX_POS)
        tok = np.concatenate([
            _piece_cls_attention(long.bert, ids[0, j][ids[0, j] != kmers.PAD_ID])[1:-1]
            for j in range(int(pm.sum()))
        ])
        assert tok.shape == (len(s) - K + 1,)
        nuc = token_to_nucleotide(tok, K)
        np.testing.assert_allclose(row[: len(s)], nuc / np.linalg.norm(nuc), atol=1e-5)
    # 117 k-mers in pieces of <= 38, as even as possible
    assert piece_token_spans(120 - K + 1, K, MAX_POS) == [(0, 30), (30, 59), (59, 88), (88, 117)]


def test_variant_in_long_window_goes_through_long_path():
    long = _long("concat")
    rng = np.random.default_rng(3)
    ref = _seq(rng, 150)  # 4 pieces
    pos = 100
    alt_base = "A" if ref[pos] != "A" else "C"
    alt = ref[:pos] + alt_base + ref[pos + 1 :]
    p_ref, p_alt = classifier_delta(long, K, [ref], [alt], batch_size=4)
    probs = predict_proba(long, [ref, alt], K)
    np.testing.assert_allclose([p_ref[0], p_alt[0]], probs[:, 1], atol=1e-6)
    # only the piece that holds the variant's k-mers changes
    ids_r, _, _ = encode_long([ref], K, max_tokens=MAX_POS)
    ids_a, _, _ = encode_long([alt], K, max_tokens=MAX_POS)
    changed = [j for j in range(ids_r.shape[1]) if not np.array_equal(ids_r[0, j], ids_a[0, j])]
    spans = piece_token_spans(150 - K + 1, K, MAX_POS)
    expect = [j for j, (a, b) in enumerate(spans) if a <= pos < b + K - 1]
    assert changed == expect
    # a window that fits one piece scores as the single-piece head would see it
    short = ref[:40]
    p1, _ = classifier_delta(long, K, [short], [short], batch_size=2)
    assert p1[0] == pytest.approx(predict_proba(long, [short], K)[0, 1], abs=1e-6)


# ----------------------------------------------------------------- per-task pooling and the comparison


def _config(extra_tasks: dict | None = None, path: str = "config/config.yaml"):
    from pathlib import Path

    import yaml
    from dnalm.settings import load_config

    raw = yaml.safe_load((Path(__file__).parents[1] / path).read_text())
    raw["tasks"].update(extra_tasks or {})
    return load_config(raw)


def test_hg38_long_promoter_tasks_use_concat_xl_path():
    from dnalm import paths as P
    from dnalm.finetune import finetune_kwargs

    cfg = _config(path="config/hg38.yaml")
    assert cfg.finetune.long_input == "concat"
    lms = {t: cfg.language_models[m].k for t in cfg.tasks for m in cfg.task_models(t)
           if m in cfg.language_models}  # fmt: skip
    for task, bp, pieces in (("prom1001_all", 1001, 2), ("prom2001_all", 2001, 4)):
        w = cfg.tasks[task].window
        assert w[1] - w[0] + 1 == bp and w[0] <= 0 <= w[1]
        assert n_pieces(bp, lms[task], 512) == pieces  # > 512 tokens: the XL path
        assert cfg.task_long_input(task) == "concat"
        kw = finetune_kwargs(P.rule_params(cfg, "finetune"), "dnabert6", cfg.task_long_input(task))
        assert kw["long_input"] == "concat"
        for pool in ("mean", "max"):
            assert cfg.task_long_input(f"{task}_{pool}") == pool
    groups = P.pooling_groups(cfg)
    assert groups == {
        "prom1001_all": {"prom1001_all": "concat", "prom1001_all_max": "max", "prom1001_all_mean": "mean"},
        "prom2001_all": {"prom2001_all": "concat", "prom2001_all_max": "max", "prom2001_all_mean": "mean"},
    }
    assert P.long_input_summary_file() in P.final_outputs(cfg)
    # the demo has no long task: no comparison, no table
    demo = _config()
    assert P.pooling_groups(demo) == {} and P.long_input_summary_file() not in P.final_outputs(demo)


def test_task_long_input_validated():
    from dnalm.settings import ConfigError

    with pytest.raises(ConfigError, match=r"tasks.x.long_input"):
        _config({"x": {"genome": "demo_hs", "kind": "splice", "window": 100, "long_input": "sum"}})


def _tail_task(n: int, seed: int, length: int = 150):
    """Label 1: GC-rich last third (a signal only the last piece sees)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        s = rng.choice(list("ACGT"), length)
        if i % 2:
            s[2 * length // 3 :] = rng.choice(list("ACGT"), length - 2 * length // 3,
                                              p=[0.05, 0.45, 0.45, 0.05])  # fmt: skip
        rows.append(("".join(s), i % 2))
    return pd.DataFrame(rows, columns=["sequence", "label"])


def test_pooling_comparison_on_tiny_long_task(tmp_path):
    """Fine-tune one synthetic long task with each pooling (per-task long_input) and build the table."""
    import json

    import pandas as pd
    from dnalm import paths as P
    from dnalm.finetune import finetune, finetune_kwargs
    from dnalm.long_input_summary import COLUMNS, write_long_input_summary
    from dnalm.summary import build_summary

    from tests.synth import make_lm

    base = {"genome": "demo_hs", "kind": "promoter", "window": [-74, 75], "subset": "tata",
            "negatives": "substitute", "models": ["dnabert6_tiny"]}  # fmt: skip
    cfg = _config({"lt": base, "lt_max": {**base, "long_input": "max"},
                   "lt_concat": {**base, "long_input": "concat"}})  # fmt: skip
    groups = P.pooling_groups(cfg)
    assert groups == {"lt": {"lt": "mean", "lt_concat": "concat", "lt_max": "max"}}
    lm = make_lm(tmp_path / "lm", k=4, max_positions=64, hidden=16)  # 147 k-mers: 3 pieces of 62
    tr, dv, te = _tail_task(48, 0), _tail_task(24, 1), _tail_task(24, 2)
    ft = P.rule_params(cfg, "finetune")
    metrics = []
    for task in groups["lt"]:
        kw = finetune_kwargs(ft, "dnabert6_tiny", cfg.task_long_input(task))
        kw.update(epochs=1, min_steps=0, batch_size=16)
        out = tmp_path / "results" / "finetune" / task / "dnabert6_tiny" / "seed1"
        finetune(tr, dv, te, out, "dnabert6_tiny", lm_dir=lm, seed=1, task=task, **kw)
        saved = json.loads((out / "model" / "longseq.json").read_text())
        assert saved["pooling"] == cfg.task_long_input(task) and saved["max_pieces"] == 3
        metrics.append(out / "metrics.json")
    bench = tmp_path / "benchmarks.tsv"
    build_summary(metrics, bench)
    table = write_long_input_summary(bench, groups, tmp_path / "long_input.tsv")
    back = pd.read_csv(tmp_path / "long_input.tsv", sep="\t")
    assert tuple(back.columns) == COLUMNS and len(back) == 3
    assert list(back["pooling"]) == ["concat", "mean", "max"]
    assert list(back["task"]) == ["lt_concat", "lt", "lt_max"]
    assert (back["n_seeds"] == 1).all() and (back["n_test"] == 24).all()
    ok = back[["mcc_lo", "mcc_hi", "auroc_lo", "auroc_hi"]].notna().all(axis=1)
    assert ok.all()
    assert ((back["mcc_lo"] <= back["mcc"] + 1e-9) & (back["mcc"] <= back["mcc_hi"] + 1e-9)).all()
    assert table.shape == back.shape
    with pytest.raises(ValueError, match="lacks columns"):
        from dnalm.long_input_summary import long_input_table

        long_input_table(pd.DataFrame({"task": []}), groups)


def test_head_context_on_multi_piece_input_uses_one_piece():
    from dnalm.attention.scores import head_context

    long = _long("max")
    rng = np.random.default_rng(5)
    s = _seq(rng, 100)  # 97 k-mers: 3 pieces
    ctx, token, labels = head_context(long, s, K)
    spans = piece_token_spans(97, K, MAX_POS)
    per_piece = [head_context(long.bert, s[a : b + K - 1], K) for a, b in spans]
    best = int(np.argmax([c[:, 0].sum() for c, _, _ in per_piece]))
    np.testing.assert_allclose(ctx, per_piece[best][0])
    assert token == per_piece[best][1] and labels == per_piece[best][2]
    assert ctx.shape[0] == 2 and ctx.shape[1] <= MAX_POS
    short = s[:30]  # one piece: the same as the bare BERT
    np.testing.assert_allclose(head_context(long, short, K, token=3)[0],
                               head_context(long.bert, short, K, token=3)[0])  # fmt: skip


def test_attention_stage_on_a_saved_long_model(tmp_path):
    from dnalm.attention.outputs import write_attention_outputs
    from dnalm.dataset import Example, write_split

    model_dir = tmp_path / "model"
    _long("concat").save(model_dir, k=K)
    rng = np.random.default_rng(6)
    L = 120  # 117 k-mers: 4 pieces
    ds = {}
    for split, n in (("train", 6), ("dev", 2), ("test", 8)):
        exs = [Example(_seq(rng, L), i % 2, "chr1", 1000 * i, 1000 * i + L, "+-"[i % 2],
                       f"{split}{i}") for i in range(n)]  # fmt: skip
        ds[split] = write_split(exs, tmp_path / f"{split}.tsv.gz")
    out = tmp_path / "out"
    res = write_attention_outputs(
        model_dir, ds, out / "scores.npz", out / "regions.bed", out / "landscape.png",
        out / "heatmaps.png", out / "context.png", summary_out=out / "summary.json",
        region_rule="quantile", n_permutations=99, n_heatmaps=2,
    )  # fmt: skip
    assert res.scores.shape == (8, L) and np.isfinite(res.scores).all()
    z = np.load(out / "scores.npz")
    assert z["scores"].shape == (8, L) and z["probs"].shape == (8, 2)
    lines = (out / "regions.bed").read_text().splitlines()
    assert lines  # quantile rule: every positive has high-attention bases
    for line in lines:
        chrom, start, end = line.split("\t")[:3]
        i = int(start) // 1000
        assert chrom == "chr1" and 1000 * i <= int(start) < int(end) <= 1000 * i + L
    assert (out / "context.png").stat().st_size > 0
