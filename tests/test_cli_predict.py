"""``dnalm predict``: same probabilities as the workflow's predictions, BED windows, bad input."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from dnalm.cli import main
from dnalm.epd import promoter_window
from dnalm.finetune import finetune
from dnalm.predict import load_classifier, predict_proba
from dnalm.seq import revcomp

from tests.synth import make_lm, synth_splits

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny fine-tuned BERT (k=4) as the workflow writes it, and its test split."""
    root = tmp_path_factory.mktemp("cli_predict")
    lm_dir = make_lm(root / "lm", k=4)
    tr, dv, te = synth_splits(n_train=80, n_eval=40, seed=5)
    out = root / "ft"
    finetune(tr, dv, te, out, "lm", lm_dir=lm_dir, epochs=1, batch_size=16, lr=1e-3, seed=1,
             device="cpu")  # fmt: skip
    return out, te


def _fasta(path, ids, seqs, width=60):
    with open(path, "w") as fh:
        for i, s in zip(ids, seqs, strict=True):
            fh.write(f">{i} some description\n")
            for a in range(0, len(s), width):
                fh.write(s[a : a + width].lower() if a == 0 else s[a : a + width])
                fh.write("\n")
    return path


def test_fasta_matches_workflow_predictions(trained, tmp_path):
    out, te = trained
    ids = [f"row{i}" for i in range(len(te))]
    fa = _fasta(tmp_path / "in.fa", ids, te["sequence"].tolist())
    res = tmp_path / "pred.tsv.gz"
    assert main(["predict", str(out / "model"), "--fasta", str(fa), "-o", str(res), "--device", "cpu",
                 "--batch-size", "7", "--quiet"]) == 0  # fmt: skip
    got = pd.read_csv(res, sep="\t")
    assert list(got.columns) == ["id", "p_negative", "p_positive", "label"]  # the dir's id2label
    assert got["id"].tolist() == ids
    wf = pd.read_csv(out / "predictions.tsv.gz", sep="\t")
    wf = wf[wf["split"] == "test"].sort_values("index")
    assert len(wf) == len(te)
    assert np.abs(got[["p_negative", "p_positive"]].to_numpy() - wf[["p0", "p1"]].to_numpy()).max() < 1e-6
    assert (got["label"].to_numpy() == np.array(["negative", "positive"])[wf["pred"]]).all()


def test_rc_average_and_window_policy(trained, tmp_path):
    out, te = trained
    model, k = load_classifier(out / "model")
    seqs = te["sequence"].tolist()[:12]
    plain = _fasta(tmp_path / "in.fa", [f"s{i}" for i in range(12)], seqs)
    fa = tmp_path / "in.fa.gz"
    fa.write_bytes(gzip.compress(plain.read_bytes()))
    res = tmp_path / "rc.tsv"
    assert main(["predict", str(out / "model"), "--fasta", str(fa), "-o", str(res), "--device", "cpu",
                 "--rc-average", "--quiet", "--threads", "1"]) == 0  # fmt: skip
    got = pd.read_csv(res, sep="\t")[["p_negative", "p_positive"]].to_numpy()
    want = (predict_proba(model, seqs, k) + predict_proba(model, [revcomp(s) for s in seqs], k)) / 2
    assert np.abs(got - want).max() < 1e-6
    # a 60-bp window: longer records are cut to their centred middle, or rejected by default
    res2 = tmp_path / "centre.tsv"
    assert main(["predict", str(out / "model"), "--fasta", str(fa), "-o", str(res2), "--window", "60",
                 "--window-policy", "centre", "--quiet", "--device", "cpu"]) == 0  # fmt: skip
    mid = [s[(len(s) - 60) // 2 : (len(s) - 60) // 2 + 60] for s in seqs]
    got2 = pd.read_csv(res2, sep="\t")[["p_negative", "p_positive"]].to_numpy()
    assert np.abs(got2 - predict_proba(model, mid, k)).max() < 1e-6


def test_bed_windows_from_genome_and_card(trained, tmp_path):
    out, te = trained
    model, k = load_classifier(out / "model")
    rng = np.random.default_rng(3)
    chrom = "".join(rng.choice(list("ACGT"), 2000))
    (tmp_path / "g.fa").write_text(
        ">chrT\n" + "\n".join(chrom[i : i + 70] for i in range(0, 2000, 70)) + "\n"
    )
    (tmp_path / "in.bed").write_text(
        "track name=x\nchrT\t100\t110\tfirst\t0\t+\nchrT\t500\t701\tsecond\t0\t-\nchrT\t1000\t1001\n"
    )
    card = tmp_path / "card.json"
    card.write_text(
        json.dumps({"task": "t", "kind": "promoter", "counts": {}, "k": 4, "window_length": 80})
    )
    res = tmp_path / "bed.tsv"
    assert main(["predict", str(out / "model"), "--bed", str(tmp_path / "in.bed"), "--genome",
                 str(tmp_path / "g.fa"), "--card", str(card), "-o", str(res), "--quiet",
                 "--device", "cpu"]) == 0  # fmt: skip
    got = pd.read_csv(res, sep="\t")
    assert got["id"].tolist() == ["first", "second", "chrT:1000-1001"]
    assert got[["start", "end"]].to_numpy().tolist() == [[65, 145], [560, 640], [960, 1040]]
    want = predict_proba(model, [chrom[65:145], revcomp(chrom[560:640]), chrom[960:1040]], k)
    assert np.abs(got[["p_negative", "p_positive"]].to_numpy() - want).max() < 1e-6
    # --anchor tss: windows as the promoter dataset builds them, TSS at the card's offset
    card.write_text(json.dumps({"task": "t", "kind": "promoter", "counts": {}, "k": 4,
                                "window_length": 80, "tss_offset": 60}))  # fmt: skip
    (tmp_path / "tss.bed").write_text("chrT\t100\t101\ta\t0\t+\nchrT\t700\t701\tb\t0\t-\n")
    assert main(["predict", str(out / "model"), "--bed", str(tmp_path / "tss.bed"), "--genome",
                 str(tmp_path / "g.fa"), "--card", str(card), "--anchor", "tss", "-o", str(res),
                 "--quiet", "--device", "cpu"]) == 0  # fmt: skip
    got = pd.read_csv(res, sep="\t")
    wins = [promoter_window(100, "+", (-60, 19)), promoter_window(700, "-", (-60, 19))]
    assert got[["start", "end"]].to_numpy().tolist() == [list(w) for w in wins]
    seqs = [chrom[wins[0][0] : wins[0][1]], revcomp(chrom[wins[1][0] : wins[1][1]])]
    assert np.abs(got[["p_negative", "p_positive"]].to_numpy() - predict_proba(model, seqs, k)).max() < 1e-6


def _run_err(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err
    return rc, err


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (">a\nACGT\nACGTX\n", ":3:", "'X' at column 5"),
        ("ACGT\n>a\nACGT\n", ":1:", "before the first"),
        (">a\nACGTACGT\n>\nACGT\n", ":3:", "empty FASTA header"),
        (">a\nACGTACGTAC\n>b\nACG\n", ":3:", "record 'b' has 3 bases"),
        (">a\n" + "A" * 200 + "\n", ":1:", "at most 129"),
    ],
)
def test_bad_fasta_names_file_and_line(trained, tmp_path, capsys, text, where, what):
    out, _ = trained
    fa = tmp_path / "bad.fa"
    fa.write_text(text)
    res = tmp_path / "pred.tsv"
    rc, err = _run_err(capsys, ["predict", str(out / "model"), "--fasta", str(fa), "-o", str(res), "--quiet",
                                "--device", "cpu"])  # fmt: skip
    assert rc == 2
    assert f"{fa}{where}" in err and what in err
    assert "Traceback" not in err
    assert not res.exists() and not list(tmp_path.glob(".pred*"))


def test_bad_options_and_bed(trained, tmp_path, capsys):
    out, _ = trained
    fa = tmp_path / "ok.fa"
    fa.write_text(">a\n" + "ACGT" * 20 + "\n>b\n" + "ACGT" * 21 + "\n")
    res = tmp_path / "pred.tsv"
    model = str(out / "model")
    base = ["-o", str(res), "--quiet", "--device", "cpu"]
    rc, err = _run_err(capsys, ["predict", model, "--fasta", str(fa), "--window", "80", *base])
    assert rc == 2 and f"{fa}:3: record 'b' has 84 bases, the model's window is 80" in err
    bed = tmp_path / "x.bed"
    bed.write_text("chrT\t10\t20\nchrT\t30\n")
    (tmp_path / "g.fa").write_text(">chrT\n" + "ACGT" * 50 + "\n")
    rc, err = _run_err(capsys, ["predict", model, "--bed", str(bed), "--genome", str(tmp_path / "g.fa"),
                                "--window", "40", *base])  # fmt: skip
    assert rc == 2 and f"{bed}:2: expected at least 3" in err
    bed.write_text("chrT\t10\t20\n")
    rc, err = _run_err(capsys, ["predict", model, "--bed", str(bed), "--genome", str(tmp_path / "g.fa"),
                                "--window", "40", *base])  # fmt: skip
    assert rc == 2 and f"{bed}:1: the 40-bp window chrT:-5-35 leaves the contig" in err
    rc, err = _run_err(
        capsys, ["predict", model, "--bed", str(bed), "--genome", str(tmp_path / "g.fa"), *base]
    )
    assert rc == 2 and "pass --window" in err
    rc, err = _run_err(capsys, ["predict", model, "--bed", str(bed), "--genome", str(tmp_path / "g.fa"),
                                "--window", "40", "--anchor", "tss", *base])  # fmt: skip
    assert rc == 2 and "needs a promoter task card with a tss_offset" in err
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"task": "t", "kind": "promoter", "counts": {}, "window_length": 40,
                                "tss_offset": 30}))  # fmt: skip
    rc, err = _run_err(capsys, ["predict", model, "--bed", str(bed), "--genome", str(tmp_path / "g.fa"),
                                "--card", str(card), "--anchor", "tss", *base])  # fmt: skip
    assert rc == 2 and f"{bed}:1: --anchor tss needs a strand" in err
    rc, err = _run_err(capsys, ["predict", str(tmp_path / "nope"), "--fasta", str(fa), *base])
    assert rc == 2 and "model directory not found" in err
    rc, err = _run_err(capsys, ["predict", model, "--fasta", str(fa), "--batch-size", "0", *base])
    assert rc == 2 and "--batch-size must be >= 1" in err
    assert not res.exists()
    with pytest.raises(SystemExit) as e:  # argparse: exactly one of --fasta / --bed
        main(["predict", model, *base])
    assert e.value.code == 2


def test_console_entry_lists_every_subcommand_and_exits_2(tmp_path):
    import subprocess
    import sys

    from dnalm.cli import SUBCOMMANDS

    r = subprocess.run(
        [sys.executable, "-m", "dnalm.cli", "--help"], capture_output=True, text=True
    )
    assert r.returncode == 0
    for name in SUBCOMMANDS:
        assert name.replace("_", "-") in r.stdout
    assert len(SUBCOMMANDS) == 5
    fa = tmp_path / "x.fa"
    fa.write_text(">a\nACGT\n")
    r = subprocess.run([sys.executable, "-m", "dnalm.cli", "predict", str(tmp_path / "none"), "--fasta", str(fa),
                        "-o", str(tmp_path / "o.tsv"), "--quiet", "--device", "cpu"],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("dnalm predict: error: ") and "model directory not found" in r.stderr


def test_installed_console_script_runs():
    """`pip install .` (make) puts a `dnalm` script beside the interpreter; it lists every subcommand."""
    import subprocess
    import sys
    from pathlib import Path

    from dnalm.cli import SUBCOMMANDS

    script = Path(sys.executable).parent / "dnalm"
    assert script.is_file(), f"{script}: not installed ([project.scripts] in pyproject.toml)"
    r = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert all(name.replace("_", "-") in r.stdout for name in SUBCOMMANDS)


def test_long_input_classifier_matches_workflow(tmp_path):
    """Inputs longer than the LM's positions: the long-input classifier (pieces) is used."""
    lm_dir = make_lm(tmp_path / "lm", k=4, max_positions=32)
    tr, dv, te = synth_splits(n_train=60, n_eval=30, seed=2)
    out = tmp_path / "ft"
    finetune(tr, dv, te, out, "lm", lm_dir=lm_dir, epochs=1, batch_size=16, lr=1e-3, device="cpu")
    assert (out / "model" / "longseq.json").is_file()
    fa = _fasta(tmp_path / "in.fa", [f"r{i}" for i in range(len(te))], te["sequence"].tolist())
    res = tmp_path / "p.tsv"
    assert main(["predict", str(out / "model"), "--fasta", str(fa), "-o", str(res), "--quiet",
                 "--device", "cpu"]) == 0  # fmt: skip
    got = pd.read_csv(res, sep="\t")[["p_negative", "p_positive"]].to_numpy()
    wf = pd.read_csv(out / "predictions.tsv.gz", sep="\t")
    wf = wf[wf["split"] == "test"].sort_values("index")
    assert np.abs(got - wf[["p0", "p1"]].to_numpy()).max() < 1e-6


def test_another_models_card_output_dirs_gaps_and_binary_beds(trained, tmp_path, capsys):
    """Each ran before without a word: a card of another task (its class count or window), an
    output that is a directory (after the whole run, with a traceback), all-N inputs scored as
    if they were sequence, and a binary BED read as text."""
    out, te = trained
    model = str(out / "model")
    seqs = te["sequence"].tolist()[:3]
    fa = _fasta(tmp_path / "in.fa", ["a", "b", "c"], seqs)
    res = tmp_path / "p.tsv"
    base = ["--quiet", "--device", "cpu"]
    own = json.loads((out / "model" / "card.json").read_text())
    card = tmp_path / "card.json"
    card.write_text(json.dumps({**own, "task": "splice", "n_classes": 3}))
    rc, err = _run_err(capsys, ["predict", model, "--card", str(card), "--fasta", str(fa), "-o", str(res), *base])
    assert rc == 2 and f"--card {card}: not this model's task card" in err and "n_classes 3" in err
    card.write_text(json.dumps({**own, "task": "renamed"}))  # the same classes: fine
    assert main(["predict", model, "--card", str(card), "--fasta", str(fa), "-o", str(res), *base]) == 0
    for bad in (tmp_path, f"{tmp_path / 'sub'}/"):
        rc, err = _run_err(capsys, ["predict", model, "--fasta", str(fa), "-o", str(bad), *base])
        assert rc == 2 and "is a directory" in err and "Traceback" not in err
    gap = _fasta(tmp_path / "gap.fa", ["a", "gap", "b"], [seqs[0], "N" * len(seqs[1]), seqs[2]])
    rc, err = _run_err(capsys, ["predict", model, "--fasta", str(gap), "-o", str(res), *base])
    assert rc == 0 and "1 of 3 inputs are more than half N (gap)" in err
    rc, err = _run_err(capsys, ["predict", model, "--fasta", str(fa), "-o", str(res), *base])
    assert rc == 0 and "half N" not in err and "warning" not in err
    dup = _fasta(tmp_path / "dup.fa", ["a", "b", "a"], seqs)
    rc, err = _run_err(capsys, ["predict", model, "--fasta", str(dup), "-o", str(res), *base])
    assert rc == 0 and f"{dup}:" in err and "record id 'a' was used at line 1" in err
    (tmp_path / "g.fa").write_text(">chrT\n" + "ACGT" * 50 + "\n")
    bed = tmp_path / "t.bed"
    for name in ("chrT", "T"):  # a BED without the chr prefix reads as score-variants' VCFs do
        bed.write_text(f"{name}\t60\t100\tw\n")
        assert main(["predict", model, "--bed", str(bed), "--genome", str(tmp_path / "g.fa"), "--window",
                     "40", "-o", str(tmp_path / f"{name}.tsv"), *base]) == 0  # fmt: skip
    assert (tmp_path / "T.tsv").read_text() == (tmp_path / "chrT.tsv").read_text()
    binary = tmp_path / "x.bed"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" * 10)
    rc, err = _run_err(capsys, ["predict", model, "--bed", str(binary), "--genome", str(tmp_path / "g.fa"),
                                "--window", "40", "-o", str(res), *base])  # fmt: skip
    assert rc == 2 and f"{binary}: not a text BED file" in err


def test_quiet_silences_transformers_loading_bar(trained, tmp_path):
    out, te = trained
    fa = _fasta(tmp_path / "in.fa", ["a"], te["sequence"].tolist()[:1])
    runs = {}
    for quiet in (False, True):
        r = subprocess.run([sys.executable, "-m", "dnalm.cli", "predict", str(out / "model"), "--fasta",
                            str(fa), "-o", str(tmp_path / "p.tsv"), "--device", "cpu",
                            *(["--quiet"] if quiet else [])],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
        assert r.returncode == 0, r.stderr
        runs[quiet] = r.stderr
    assert "Loading weights" in runs[False] and "Loading weights" not in runs[True]
    assert runs[True].strip() == ""


def test_an_output_that_is_an_input_is_refused(trained, tmp_path, capsys):
    """`-o same.fa` beside `--fasta same.fa` replaced the user's FASTA with the TSV (atomic
    writes read the input first, then replace it): every subcommand refuses before any work."""
    out, te = trained
    fa = _fasta(tmp_path / "same.fa", ["a"], [te["sequence"].iloc[0]])
    before = fa.read_bytes()
    for link in (fa, tmp_path / "sub" / ".." / "same.fa"):  # the same file by another spelling
        rc = main(["predict", str(out / "model"), "--fasta", str(fa), "-o", str(link), "--quiet",
                   "--device", "cpu"])  # fmt: skip
        err = capsys.readouterr().err
        assert rc == 2 and f"would overwrite the input {fa}" in err, err
        assert fa.read_bytes() == before
    hard = tmp_path / "hard.fa"  # a hard link: another name, the same file
    hard.hardlink_to(fa)
    assert main(["predict", str(out / "model"), "--fasta", str(hard), "-o", str(fa), "--quiet"]) == 2
    assert "would overwrite the input" in capsys.readouterr().err and fa.read_bytes() == before
    emb = tmp_path / "e.npy"  # embed: its index TSV is an output too
    index = tmp_path / "e.index.tsv"
    index.write_bytes(before)
    assert main(["embed", str(out / "model"), "--fasta", str(index), "-o", str(emb), "--quiet"]) == 2
    assert f"would overwrite the input {index}" in capsys.readouterr().err and index.read_bytes() == before
    assert main(["attention", str(out / "model"), "--fasta", str(fa), "-o", str(tmp_path / "a.npz"),
                 "--heatmap", str(fa), "--quiet"]) == 2  # fmt: skip
    assert "would overwrite the input" in capsys.readouterr().err and fa.read_bytes() == before


def test_a_run_directory_given_as_the_model_points_at_its_model(trained, tmp_path, capsys):
    """`dnalm predict results/finetune/<task>/<model>/seed1` (one level too high) said 'no
    vocab.txt in model directory'."""
    out, te = trained
    fa = _fasta(tmp_path / "a.fa", ["a"], [te["sequence"].iloc[0]])
    rc = main(["predict", str(out), "--fasta", str(fa), "-o", str(tmp_path / "p.tsv"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and f"{out}: not a model directory (no config.json)" in err, err
    assert f"the model directories under it: {out / 'model'}" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["predict", str(empty), "--fasta", str(fa), "-o", str(tmp_path / "p.tsv")]) == 2
    assert f"{empty}: not a model directory (no config.json)\n" in capsys.readouterr().err


def test_a_fitting_card_of_another_task_is_used_with_a_warning(trained, tmp_path, capsys):
    import shutil

    out, te = trained
    model = tmp_path / "model"
    shutil.copytree(out / "model", model)
    own = json.loads((model / "card.json").read_text())
    (model / "card.json").write_text(json.dumps({**own, "task": "tf_ctcf"}))
    card = tmp_path / "card.json"
    card.write_text(json.dumps({**own, "task": "tf_p53"}))
    fa = _fasta(tmp_path / "a.fa", ["a"], [te["sequence"].iloc[0]])
    rc, err = _run_err(capsys, ["predict", str(model), "--card", str(card), "--fasta", str(fa),
                                "-o", str(tmp_path / "p.tsv"), "--quiet"])  # fmt: skip
    assert rc == 0 and f"--card {card}: task 'tf_p53', but the model was fine-tuned on 'tf_ctcf'" in err
