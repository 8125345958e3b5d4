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
