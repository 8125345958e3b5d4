"""Tests of dnalm.modeling: size presets, DNABERT-format directories, import."""

import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from dnalm import kmers
from dnalm.modeling import (
    SIZES,
    bert_config,
    build_mlm,
    import_pretrained,
    load_lm_dir,
    save_model_dir,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DNABERT_CFG = SHARED / "interop" / "dnabert-config"

# DNABERT's own tokenizer_config.json asks for lower-casing; the warning is tested once below.
pytestmark = pytest.mark.filterwarnings("ignore:.*do_lower_case=true is ignored")

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def _need_shared():
    if not (DNABERT_CFG / "bert-config-6" / "config.json").is_file():
        pytest.skip(f"DNABERT config fixtures not found under {DNABERT_CFG} (shared data absent)")


def _dnabert_dir(tmp_path: Path, k: int = 6, pooler: bool = True):
    """A tiny checkpoint in exactly DNABERT's layout: its 4 files + pytorch_model.bin."""
    from transformers import BertConfig, BertForMaskedLM

    _need_shared()
    d = tmp_path / f"DNA_bert_{k}"
    shutil.copytree(DNABERT_CFG / f"bert-config-{k}", d)
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(TINY)
    (d / "config.json").write_text(json.dumps(cfg, indent=2))
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(**{k_: v for k_, v in cfg.items() if k_ != "architectures"}))
    with torch.no_grad():  # non-trivial values everywhere (default init zeroes biases)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    model.eval()
    sd = model.state_dict()
    if pooler:  # DNABERT's BertForMaskedLM kept BertModel's pooler
        sd["bert.pooler.dense.weight"] = torch.randn(TINY["hidden_size"], TINY["hidden_size"])
        sd["bert.pooler.dense.bias"] = torch.randn(TINY["hidden_size"])
    torch.save(sd, d / "pytorch_model.bin")
    return d, model, sd


def _logits(model, k):
    ids, att = kmers.encode_batch(["ACGTACGTTAGCCATG", "TTTTGGGGCCCCAAAATTAC"], k)
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(att)).logits


@pytest.mark.parametrize("k", [3, 6])
def test_bert_config_sizes(k):
    base = bert_config(k, "base")
    assert base.vocab_size == 4**k + 5
    assert (base.hidden_size, base.num_hidden_layers, base.num_attention_heads) == (768, 12, 12)
    assert base.intermediate_size == 3072 and base.max_position_embeddings == 512
    assert base.type_vocab_size == 2 and base.hidden_act == "gelu"
    assert base.hidden_dropout_prob == base.attention_probs_dropout_prob == 0.1
    assert base._attn_implementation == "sdpa"
    tiny = bert_config(k, "tiny", max_positions=128)
    assert tiny.hidden_size == SIZES["tiny"]["hidden_size"] and tiny.max_position_embeddings == 128


def test_base_equals_dnabert_config_json():
    _need_shared()
    ref = json.loads((DNABERT_CFG / "bert-config-6" / "config.json").read_text())
    ours = bert_config(6, "base").to_dict()
    for key, v in ref.items():
        assert ours[key] == v, key


def test_bad_size_and_k():
    with pytest.raises(ValueError, match="size"):
        bert_config(6, "huge")
    with pytest.raises(ValueError, match="`k`"):
        bert_config(2)


def test_build_mlm_seeded():
    a, b = build_mlm(3, seed=1), build_mlm(3, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


def test_load_dnabert_layout_matches_source(tmp_path):
    d, src, _ = _dnabert_dir(tmp_path)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        model, tok, extra = load_lm_dir(d, attn_implementation="eager")
    assert any("do_lower_case" in str(x.message) for x in w)
    assert tok.k == 6 and tok.vocab == kmers.vocab(6)
    assert (d / "vocab.txt").read_text() == kmers.vocab_text(6)
    assert set(extra) == {"bert.pooler.dense.weight", "bert.pooler.dense.bias"}
    torch.testing.assert_close(_logits(model, 6), _logits(src, 6), rtol=1e-5, atol=1e-5)


def test_import_pretrained_roundtrip(tmp_path):
    from transformers import BertForMaskedLM, BertForSequenceClassification

    d, src, sd = _dnabert_dir(tmp_path)
    out = import_pretrained(d, tmp_path / "results" / "model")
    assert (out / "model.safetensors").is_file() and not (out / "pytorch_model.bin").exists()
    assert (out / "vocab.txt").read_bytes() == (d / "vocab.txt").read_bytes()
    assert json.loads((out / "tokenizer_config.json").read_text())["do_lower_case"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # our tokenizer files must not warn
        tok = kmers.load_tokenizer(out)
    assert tok.k == 6
    mlm = BertForMaskedLM.from_pretrained(out, attn_implementation="eager").eval()
    torch.testing.assert_close(_logits(mlm, 6), _logits(src, 6), rtol=1e-5, atol=1e-5)
    clf = BertForSequenceClassification.from_pretrained(out, num_labels=2)
    torch.testing.assert_close(clf.bert.pooler.dense.weight, sd["bert.pooler.dense.weight"])
    torch.testing.assert_close(
        clf.bert.embeddings.word_embeddings.weight, sd["bert.embeddings.word_embeddings.weight"]
    )
    assert [p.name for p in tmp_path.joinpath("results").iterdir()] == ["model"]  # no temporaries
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]


def test_save_model_dir_replaces_whole_and_keeps_old_on_error(tmp_path):
    from transformers import BertForMaskedLM

    out = tmp_path / "model"
    out.mkdir()
    (out / "leftover.txt").write_text("from an older run")
    model = build_mlm(4, "tiny", max_positions=64, seed=0)
    save_model_dir(model, 4, out, extra_files={"training_fingerprint.json": '{"a": 1}\n'})
    assert not (out / "leftover.txt").exists()  # replaced whole, not merged
    assert json.loads((out / "training_fingerprint.json").read_text()) == {"a": 1}
    assert kmers.load_tokenizer(out).k == 4
    again = BertForMaskedLM.from_pretrained(out)
    for key, v in model.state_dict().items():
        torch.testing.assert_close(again.state_dict()[key], v)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(ValueError, match="extra_files"):
        save_model_dir(model, 4, out, extra_files={"../escape": "x"})

    class Broken:
        config = model.config

        def save_pretrained(self, d, safe_serialization=True):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_model_dir(Broken(), 4, out)
    assert sorted(p.name for p in out.iterdir()) == before  # the previous directory survives
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_load_rejects_bad_dirs(tmp_path):
    d, _, sd = _dnabert_dir(tmp_path, pooler=False)
    bad = tmp_path / "bad"
    shutil.copytree(d, bad)
    (bad / "pytorch_model.bin").unlink()
    with pytest.raises(ValueError, match="no model weights"):
        load_lm_dir(bad)
    shutil.copy(d / "pytorch_model.bin", bad / "pytorch_model.bin")
    cfg = json.loads((bad / "config.json").read_text())
    cfg["vocab_size"] = 69
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="vocab_size 69"):
        load_lm_dir(bad)
    cfg["vocab_size"] = 4101
    cfg["hidden_size"] = 64
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="shape"):
        load_lm_dir(bad)
    (bad / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config.json:1"):
        load_lm_dir(bad)
    # a pickle that is not a plain state_dict is refused by weights_only loading
    shutil.copy(d / "config.json", bad / "config.json")
    torch.save({"model": _Opaque()}, bad / "pytorch_model.bin")
    with pytest.raises(ValueError, match="weights-only"):
        load_lm_dir(bad)


class _Opaque:
    """An arbitrary class: unpickling it needs unrestricted pickle."""


# --------------------------------------------------------------------------- attention_cpu


def _qkv(b=2, h=2, t=23, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(b, h, t, d, generator=g, requires_grad=True) for _ in range(3))
    mask = torch.ones(b, 1, t, t, dtype=torch.bool)
    mask[1, :, :, t - 7 :] = False  # padded keys in row 1
    return q, k, v, mask


class _Attn(torch.nn.Module):  # what BertSelfAttention exposes to the attention function
    is_causal = False


@pytest.mark.parametrize("p", [0.1, 0.37, 0.25, 0.003])
def test_drop_mask_rate_is_exact(p):
    from dnalm.attention_cpu import drop_mask

    torch.manual_seed(0)
    shape = (997, 4093)  # not a multiple of 8
    m = drop_mask(shape, p)
    assert m.shape == shape and m.dtype == torch.bool
    n = m.numel()
    se = (p * (1 - p) / n) ** 0.5
    # without the tie rule p = 0.1 would give 25/256 = 0.0977 (15 standard errors off)
    assert abs(m.float().mean().item() - p) < 4.5 * se
    lanes = m.view(-1)[: (n // 8) * 8].view(-1, 8).float().mean(0)  # each byte of a word
    assert (lanes - p).abs().max().item() < 4.5 * se * 8**0.5
    flat = m.view(-1).float()
    both = (flat[1:] * flat[:-1]).mean().item()  # neighbours (same and adjacent words) independent
    assert abs(both - p * p) < 4.5 * (p * p * (1 - p * p) / n) ** 0.5 * 2


def test_drop_mask_edges_and_seeding():
    from dnalm.attention_cpu import drop_mask

    assert not drop_mask((3, 5), 0.0).any() and drop_mask((3, 5), 1.0).all()
    assert drop_mask((0, 4), 0.5).shape == (0, 4)
    assert drop_mask((3,), 0.5).shape == (3,)
    a = drop_mask((64, 65), 0.3, torch.Generator().manual_seed(5))
    b = drop_mask((64, 65), 0.3, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="`p`"):
        drop_mask((2, 2), 1.5)


def test_dropout_attention_equals_sdpa_without_dropout():
    import torch.nn.functional as F
    from dnalm.attention_cpu import dropout_attention

    q, k, v, mask = _qkv()
    mod = _Attn().train()
    # p > 0 but far below one drop in this tensor: the hand-written kernel and its backward run
    out, w = dropout_attention(mod, q, k, v, mask, dropout=1e-12, scaling=0.3)
    assert w is None and out.shape == (2, 23, 2, 8)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3).transpose(1, 2)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    gy = torch.randn_like(out)
    g_ours = torch.autograd.grad(out, (q, k, v), gy)
    g_ref = torch.autograd.grad(ref, (q, k, v), gy)
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    # dropout 0 is SDPA itself (eval: BERT passes dropout 0, see the model-level test)
    out0, _ = dropout_attention(mod, q, k, v, mask, dropout=0.0, scaling=0.3)
    assert torch.equal(out0, F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3).transpose(1, 2))


def test_dropout_attention_with_dropout_matches_explicit_reference():
    from dnalm.attention_cpu import drop_mask, dropout_attention

    p, scale = 0.2, 0.35
    q, k, v, mask = _qkv(t=37, seed=1)
    torch.manual_seed(11)
    out, _ = dropout_attention(_Attn().train(), q, k, v, mask, dropout=p, scaling=scale)
    torch.manual_seed(11)
    drop = drop_mask((2, 2, 37, 37), p)  # the same random stream gives the same mask
    s = (q * scale) @ k.transpose(-1, -2)
    s = s.masked_fill(~mask, torch.finfo(s.dtype).min)
    ref = (torch.softmax(s, -1).masked_fill(drop, 0.0) / (1 - p)) @ v
    ref = ref.transpose(1, 2)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    gy = torch.randn_like(out)
    for a, b in zip(torch.autograd.grad(out, (q, k, v), gy), torch.autograd.grad(ref, (q, k, v), gy),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_exact_dropout_rate_and_scaling():
    from dnalm.attention_cpu import ExactDropout

    torch.manual_seed(0)
    x = torch.ones(400, 1000, requires_grad=True)
    d = ExactDropout(0.1).train()
    y = d(x)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - 0.1) < 0.003
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.9))
    (g,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(g, y.detach())  # the same mask and scale in the backward pass
    assert torch.equal(d.eval()(x), x)


def _tiny_bert(dropout: float):
    from transformers import BertForMaskedLM

    cfg = bert_config(4, "tiny", max_positions=64)
    cfg.attention_probs_dropout_prob = cfg.hidden_dropout_prob = dropout
    torch.manual_seed(0)
    return BertForMaskedLM(cfg)


def _batch():
    ids, att = kmers.encode_batch(["ACGTACGTTAGCCATGAAT" * 2, "TTTTGGGGCCCCAAAATTAC"], 4)
    return torch.from_numpy(ids), torch.from_numpy(att)


def test_cpu_training_model_paths_and_restore(tmp_path):
    from dnalm.attention_cpu import ATTN_IMPLEMENTATION, ExactDropout, cpu_training
    from transformers import BertForMaskedLM, BertForSequenceClassification

    ids, att = _batch()
    model = _tiny_bert(0.1)
    model.eval()
    with torch.no_grad():
        stock_eval = model(input_ids=ids, attention_mask=att).logits
    model.train()
    with cpu_training(model):
        assert model.config._attn_implementation == ATTN_IMPLEMENTATION
        assert sum(isinstance(m, ExactDropout) for m in model.modules()) == 3 * 2 + 1  # 3 per layer + embeddings
        torch.manual_seed(3)
        a = model(input_ids=ids, attention_mask=att).logits
        torch.manual_seed(3)
        b = model(input_ids=ids, attention_mask=att).logits
        assert torch.isfinite(a).all() and torch.equal(a, b)  # seeded, repeatable
        assert not torch.allclose(a, stock_eval, atol=1e-3)  # dropout is on
        a.sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        model.eval()
        with torch.no_grad():
            ours_eval = model(input_ids=ids, attention_mask=att).logits
        torch.testing.assert_close(ours_eval, stock_eval, rtol=0, atol=0)
        model.save_pretrained(tmp_path / "inside")  # even saved inside: no custom name on disk
    assert model.config._attn_implementation == "sdpa"
    assert not any(isinstance(m, ExactDropout) for m in model.modules())
    text = (tmp_path / "inside" / "config.json").read_text()
    assert ATTN_IMPLEMENTATION not in text and "attn_implementation" not in text
    BertForMaskedLM.from_pretrained(tmp_path / "inside")
    BertForSequenceClassification.from_pretrained(tmp_path / "inside", num_labels=2)
    with pytest.raises(RuntimeError, match="boom"), cpu_training(model):
        raise RuntimeError("boom")
    assert model.config._attn_implementation == "sdpa"
    assert not any(isinstance(m, ExactDropout) for m in model.modules())


def test_cpu_training_dropout_zero_is_stock_sdpa():
    from dnalm.attention_cpu import cpu_training

    ids, att = _batch()
    model = _tiny_bert(0.0).train()
    out = model(input_ids=ids, attention_mask=att).logits
    gy = torch.randn_like(out)
    g_stock = torch.autograd.grad(out, list(model.parameters()), gy, allow_unused=True)
    with cpu_training(model):
        out2 = model(input_ids=ids, attention_mask=att).logits
        g_ours = torch.autograd.grad(out2, list(model.parameters()), gy, allow_unused=True)
    assert torch.equal(out, out2)
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(g_stock, g_ours, strict=True))
