"""Tests of dnalm.gpt.model: presets, number input, heads, save/load (backbone via from_pretrained)."""

import json

import pytest
import torch
from dnalm.gpt import GPT_SIZES, VOCAB_SIZE, build_gpt, gpt_config, load_gpt_dir, save_gpt_dir

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_presets():
    s = gpt_config("dnagpt_s")
    assert (s.n_layer, s.n_embd, s.n_head, s.n_positions) == (12, 768, 12, 512)
    assert s.vocab_size == VOCAB_SIZE == 19564 and s.activation_function == "gelu_pytorch_tanh"
    assert s.resid_pdrop == s.attn_pdrop == s.embd_pdrop == 0.0
    assert set(GPT_SIZES) == {"tiny", "dnagpt_s"}
    with pytest.raises(ValueError, match="`size` must be one of"):
        gpt_config("base")


def test_fused_tanh_gelu_and_old_gelu_new_dirs(tmp_path):
    """New models run the tanh-GELU as one kernel; a directory saved with GPT-2's gelu_new (the
    same formula in five steps) still loads as saved and agrees with it to float precision."""
    from transformers.activations import GELUTanh, NewGELUActivation

    m = build_gpt("tiny", seed=2).eval()
    assert type(m.transformer.h[0].mlp.act) is GELUTanh
    m.config.activation_function = "gelu_new"  # as dnalm wrote GPT configs before
    save_gpt_dir(m, tmp_path / "old")
    assert json.loads((tmp_path / "old/config.json").read_text())["activation_function"] == "gelu_new"
    old, _ = load_gpt_dir(tmp_path / "old")
    assert type(old.transformer.h[0].mlp.act) is NewGELUActivation
    ids = torch.randint(34, VOCAB_SIZE, (3, 40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        new_h, old_h = m(ids), old(ids)
    assert not torch.equal(new_h, old_h)  # different kernels ...
    torch.testing.assert_close(new_h, old_h, rtol=0, atol=1e-5)  # ... one function


def test_number_replaces_one_position_and_heads_shapes():
    m = build_gpt("tiny", seed=1).eval()
    ids = torch.randint(34, VOCAB_SIZE, (2, 9))
    ids[:, 4] = 18  # <M> slot
    with torch.no_grad():
        plain = m(ids)
        a = m(ids, numbers=torch.tensor([0.3, -1.0]), number_pos=torch.tensor([4, -1]))
        b = m(ids, numbers=torch.tensor([2.0, -1.0]), number_pos=torch.tensor([4, -1]))
    assert plain.shape == (2, 9, 128)
    # causal: positions before the slot are unchanged; the slot and after depend on the value
    torch.testing.assert_close(a[0, :4], plain[0, :4])
    assert not torch.allclose(a[0, 4:], b[0, 4:])
    torch.testing.assert_close(a[1], plain[1])  # number_pos -1: no number for that row
    assert m.token_logits(a).shape == (2, 9, VOCAB_SIZE) and m.regress(a).shape == (2, 9)
    with pytest.raises(ValueError, match="number_pos"):
        m(ids, numbers=torch.tensor([0.3, 1.0]))


def test_save_load_and_backbone_from_pretrained(tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModel, GPT2Model

    m = build_gpt("tiny", seed=3, extra={"gc_mean": 0.41})
    d = save_gpt_dir(m, tmp_path / "model", extra_files={"note.txt": "hi\n"})
    names = {p.name for p in d.iterdir()}
    assert {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "note.txt"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pth", ".pkl")) for n in names)  # no pickles
    keys = set(load_file(str(d / "model.safetensors")))
    assert {k.split(".")[0] for k in keys} == {"transformer", "lm_head", "reg_head", "num_embed"}
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["model_type"] == "gpt2" and cfg["dnagpt"]["gc_mean"] == 0.41

    backbone, info = GPT2Model.from_pretrained(d, attn_implementation="sdpa", output_loading_info=True)
    assert not info["missing_keys"] and not info["mismatched_keys"]
    for name, p in backbone.state_dict().items():
        torch.testing.assert_close(p, m.transformer.state_dict()[name])
    assert type(AutoModel.from_pretrained(d)).__name__ == "GPT2Model"

    m2, tok = load_gpt_dir(d)
    assert m2.config._attn_implementation == "sdpa" and tok.model_max_length == 256
    ids = torch.from_numpy(tok.encode_text("<R>ACGTACGGATTACA<=><M><B>"))[None]
    with torch.no_grad():
        torch.testing.assert_close(m2(ids), m.eval()(ids))
        torch.testing.assert_close(m2.regress(m2(ids)), m.regress(m(ids)))
    with pytest.raises(ValueError, match="config.json: missing"):
        load_gpt_dir(tmp_path / "nowhere")
