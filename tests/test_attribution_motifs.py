"""dnalm.attribution_motifs: TF-MoDISco on attribution maps (modisco-lite), TOMTOM against the
planted PWMs, the "nothing found" status, and the attention-vs-attribution table.

Inputs are synthetic attribution files in the contract's layout: random windows, half of the
positives carry a planted CTCF-like instance (either orientation) whose hypothetical
contributions are its log-odds (what a model that learned the motif gives), the rest noise; a
noise-only file stands in for a weak model.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from dnalm import settings
from dnalm.attribution_motifs import (
    ATTRIBUTION_MOTIF_STATUSES,
    OUTPUT_FILES,
    PATTERN_COLUMNS,
    SEQLET_COLUMNS,
    discover_attribution_motifs,
    read_attribution_maps,
    read_patterns,
    select_rows,
    trim_bounds,
)
from dnalm.attribution_motifs.compare import (
    BASE_COLUMNS,
    MAX_KNOWN_COLUMNS,
    InterpretationRun,
    interpretation_table,
    runs_from_paths,
    write_interpretation,
)
from dnalm.meme import read_meme, write_meme
from dnalm.settings import ConfigError, load_config
from dnalm.sim.presets import PWMS

L = 101
# Demo-sized TF-MoDISco (config/config.yaml `modisco:`).
FAST = {"sliding_window_size": 15, "flank_size": 5, "n_leiden_runs": 2, "min_metacluster_size": 20,
        "final_min_cluster_size": 20, "n_bootstrap": 200}  # fmt: skip


def make_maps(path: Path, n_pos: int = 300, n_neg: int = 60, motif: str | None = "CTCF_like",
              seed: int = 0) -> list[tuple[str, int, int]]:  # fmt: skip
    """Write a contract npz; return the planted sites as (contig, start, end) genome intervals."""
    rng = np.random.default_rng(seed)
    n = n_pos + n_neg
    onehot = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))]
    hyp = rng.normal(0, 0.05, (n, L, 4)).astype(np.float32)
    strand = np.where(np.arange(n) % 3 == 0, "-", "+")
    start = 10_000 + np.arange(n) * 1000
    sites = []
    if motif is not None:
        pwm = PWMS[motif]
        w = pwm.shape[0]
        lo = np.log2(pwm / 0.25)
        lo -= lo.mean(axis=1, keepdims=True)
        for i in range(n_pos):
            s = int(rng.integers(10, L - w - 10))
            site = np.eye(4)[[rng.choice(4, p=pwm[j]) for j in range(w)]]
            if rng.random() < 0.5:
                site, lo_i = site[::-1, ::-1], lo[::-1, ::-1]  # reverse-complement instance
            else:
                lo_i = lo
            onehot[i, s : s + w] = site
            hyp[i, s : s + w] += lo_i
            a, b = (start[i] + s, start[i] + s + w) if strand[i] == "+" else \
                (start[i] + L - s - w, start[i] + L - s)  # fmt: skip
            sites.append(("chr1", int(a), int(b)))
    hyp -= hyp.mean(axis=-1, keepdims=True)
    np.savez(
        path, ids=np.array([f"test:{i}" for i in range(n)]),
        label=np.r_[np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)],
        prob=rng.random(n).astype(np.float32), onehot=onehot, hyp=hyp,
        attr=(hyp * onehot).sum(-1), chrom=np.array(["chr1"] * n), start=start.astype(np.int64),
        strand=strand,
    )  # fmt: skip
    return sites


def write_truth(path: Path, sites: list[tuple[str, int, int]]) -> Path:
    lines = ["kind\tname\tcontig\tstart\tend\tstrand\tfeature"]
    lines += [f"motif\tCTCF_like\t{c}\t{a}\t{b}\t+\tCTCF_demo:peak{i}" for i, (c, a, b) in enumerate(sites)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One TF-MoDISco run on planted signal and one on noise (about 10-30 s each)."""
    d = tmp_path_factory.mktemp("modisco")
    known = write_meme(d / "truth.meme", PWMS)
    sites = make_maps(d / "signal.npz")
    make_maps(d / "noise.npz", motif=None, seed=1)
    truth = write_truth(d / "positions.tsv", sites)
    metrics = d / "metrics.json"
    metrics.write_text(json.dumps({"mcc": 0.02, "n_test": 360}))
    out = {}
    for name in ("signal", "noise"):
        out[name] = discover_attribution_motifs(
            d / f"{name}.npz", d / name, known=known, metrics=metrics, kind="tfbs", truth=truth, **FAST
        )
    return d, out


# ----------------------------------------------------------------------------- input contract


def _arrays(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("hyp"), "missing array(s) ['hyp']"),
        (lambda a: a.update(hyp=a["hyp"][:, :-1]), "`hyp` has shape"),
        (lambda a: a.update(attr=a["attr"][:-1]), "`attr` has shape"),
        (lambda a: a.update(label=a["label"][:-1]), "`label` has shape"),
        (lambda a: a.update(attr=a["attr"] + 1.0), "differs from (hyp * onehot).sum(-1)"),
        (lambda a: a.update(onehot=a["onehot"] * 2), "not one-hot"),
        (lambda a: a.pop("chrom"), "come together"),
        (lambda a: a["hyp"].__setitem__((0, 0, 0), np.nan), "NaN"),
    ],
)
def test_bad_attribution_file_is_named(tmp_path, change, message):
    good = tmp_path / "good.npz"
    make_maps(good, n_pos=5, n_neg=2)
    a = _arrays(good)
    change(a)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **a)
    with pytest.raises(ValueError) as e:
        read_attribution_maps(bad)
    assert str(bad) in str(e.value) and message in str(e.value)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        read_attribution_maps(tmp_path / "nope.npz")


def test_reads_contract_and_subsamples_positives(tmp_path):
    make_maps(tmp_path / "a.npz", n_pos=30, n_neg=10)
    m = read_attribution_maps(tmp_path / "a.npz")
    assert (m.n, m.length) == (40, L) and m.strand is not None and m.ids[0] == "test:0"
    assert np.array_equal(select_rows(m), np.arange(30))
    sub = select_rows(m, max_seqs=7, seed=3)
    assert sub.size == 7 and np.all(np.diff(sub) > 0) and np.all(m.label[sub] == 1)
    assert np.array_equal(sub, select_rows(m, max_seqs=7, seed=3))


def test_trim_bounds_keeps_the_core():
    cwm = np.zeros((10, 4))
    cwm[3:6, 0] = [0.5, 1.0, 0.4]
    cwm[8, 1] = 0.1
    assert trim_bounds(cwm) == (3, 6)
    assert trim_bounds(np.zeros((4, 4))) == (0, 4)


# ----------------------------------------------------------------------------- TF-MoDISco


def test_planted_motif_is_found_and_matched(runs):
    d, out = runs
    s = out["signal"]
    run = d / "signal"
    assert sorted(p.name for p in run.iterdir()) == sorted(OUTPUT_FILES.values())
    assert s["status"] == "ok" and not s["nothing_found"] and s["n_matched"] >= 1
    # modisco-lite's report format: pattern groups, per-pattern matrices and seqlets
    with h5py.File(run / "modisco.h5") as f:
        assert set(f) == {"pos_patterns", "neg_patterns"} and f.attrs["window_size"] == 15
        g = f["pos_patterns/pattern_0"]
        assert {"sequence", "contrib_scores", "hypothetical_contribs", "seqlets"} <= set(g)
        assert g["sequence"].shape[1] == 4 and int(g["seqlets/n_seqlets"][0]) >= 20
    patterns = read_patterns(run / "modisco.h5")
    meme = read_meme(run / "patterns.meme")
    assert list(meme) == [p.name for p in patterns]
    nsites = {ln.split()[1]: None for ln in (run / "patterns.meme").read_text().splitlines()
              if ln.startswith("MOTIF")}  # fmt: skip
    assert set(nsites) == set(s["patterns"])
    # TOMTOM recovers the planted PWM, not the others
    m = pd.read_csv(run / "matches.tsv", sep="\t")
    best = m.sort_values("q").groupby("target")["q"].min()
    assert best["CTCF_like"] < 0.05 and best.drop("CTCF_like").min() > 0.05
    tab = pd.read_csv(run / "patterns.tsv", sep="\t")
    assert list(tab.columns) == PATTERN_COLUMNS
    top = tab.sort_values("n_seqlets").iloc[-1]
    assert top["best_match"] == "CTCF_like" and top["best_q"] < 0.05
    # seqlets sit on the planted sites, in genome coordinates (minus-strand windows flipped)
    seq = pd.read_csv(run / "seqlets.tsv", sep="\t")
    assert list(seq.columns) == SEQLET_COLUMNS and len(seq) == s["n_seqlets_in_patterns"]
    truth = pd.read_csv(d / "positions.tsv", sep="\t")
    sub = seq[seq["pattern"] == top["pattern"]]
    overlap = [((truth["start"] < r.genome_end) & (truth["end"] > r.genome_start)).any()
               for r in sub.itertuples()]  # fmt: skip
    assert np.mean(overlap) > 0.9
    # |attr| points at the planted bases
    site = s["site_auroc"]
    assert site["auroc"] > 0.9 and site["ci_low"] <= site["auroc"] <= site["ci_high"]
    assert site["n_rows"] == 300 and site["score"] == "|attr|"
    assert s["model"]["test_mcc"] == pytest.approx(0.02)
    assert (run / "logos" / "index.tsv").read_text().count("\n") == len(patterns) + 1


def test_noise_reports_nothing_found_with_diagnostics(runs, tmp_path, caplog):
    d, out = runs
    s = out["noise"]
    assert s["status"] in ATTRIBUTION_MOTIF_STATUSES and s["status"] != "ok"
    assert s["nothing_found"] is True
    for word in ("seqlets", "|attr| median", "model test MCC 0.02"):
        assert word in s["reason"]
    assert s["attribution"]["n_rows"] == 300 and s["attribution"]["max"] > 0
    assert s["seqlets"]["n_positive"] >= 0 and s["seqlets"]["threshold"] is not None
    assert (d / "noise" / "patterns.tsv").read_text().strip() == "\t".join(PATTERN_COLUMNS)
    assert (d / "noise" / "logos.png").stat().st_size > 0
    # and it is logged as a framed WARNING, never silently
    make_maps(tmp_path / "w.npz", n_pos=40, n_neg=5, motif=None, seed=2)
    with caplog.at_level(logging.WARNING, logger="dnalm.attribution_motifs"):
        r = discover_attribution_motifs(tmp_path / "w.npz", tmp_path / "w", **FAST)
    assert r["nothing_found"] and "TF-MODISCO FOUND NOTHING USABLE" in caplog.text
    assert r["n_matched"] is None and r["site_auroc"]["auroc"] is None


def test_no_positive_rows_is_a_status(tmp_path):
    make_maps(tmp_path / "z.npz", n_pos=0, n_neg=20, motif=None)
    r = discover_attribution_motifs(tmp_path / "z.npz", tmp_path / "z", **FAST)
    assert r["status"] == "no_positives" and "no positive row" in r["reason"]


# ----------------------------------------------------------------------------- side by side


def _attention_run(d: Path, found: bool) -> dict[str, str]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "summary.json").write_text(json.dumps(
        {"status": "ok" if found else "no_regions", "n_motifs": 2 if found else 0,
         "n_sites": 40 if found else 0,
         "reason": "2 motifs" if found else "no high-attention region in 50 positive sequences"}))  # fmt: skip
    rows = [("motif1_ACGT", "CTCF_like", 1e-4), ("motif1_ACGT", "P53_like", 0.4)] if found else []
    pd.DataFrame(rows, columns=["query", "target", "q"]).assign(p=0.1).to_csv(
        d / "matches.tsv", sep="\t", index=False)  # fmt: skip
    (d / "att.json").write_text(json.dumps({"site_auroc": {"auroc": 0.61, "ci_low": 0.55,
                                                           "ci_high": 0.66, "n_rows": 50}}))  # fmt: skip
    (d / "metrics.json").write_text(json.dumps({"mcc": 0.8}))
    return {"summary": str(d / "summary.json"), "matches": str(d / "matches.tsv"),
            "site_summary": str(d / "att.json"), "metrics": str(d / "metrics.json")}  # fmt: skip


def test_side_by_side_table_and_figure(runs, tmp_path):
    d, _ = runs
    att = {"dnabert6_tiny": _attention_run(tmp_path / "att", found=True)}
    attr = [{"model": "cnn", "seed": 1, "method": "ism", "summary": str(d / "signal/summary.json"),
             "matches": str(d / "signal/matches.tsv")},
            {"model": "dnabert6_tiny", "seed": 1, "method": "ig",
             "summary": str(d / "noise/summary.json"), "matches": str(d / "noise/matches.tsv")}]  # fmt: skip
    files = {k: tmp_path / f"out/tf_ctcf.{k}" for k in ("tsv", "png", "svg")}
    table = write_interpretation("tf_ctcf", runs_from_paths(att, attr), **files, known=d / "truth.meme")
    names = list(PWMS)
    assert list(table.columns) == BASE_COLUMNS + [f"q:{n}" for n in names]
    back = pd.read_csv(files["tsv"], sep="\t")
    assert list(back.columns) == list(table.columns) and len(back) == 3
    a, sig, noise = (r for _, r in back.iterrows())
    assert (a["route"], a["status"], a["n_instances"], a["test_mcc"]) == ("attention", "ok", 40, 0.8)
    assert a["q:CTCF_like"] == pytest.approx(1e-4) and np.isnan(a["q:TATA_like"])
    assert a["site_auroc"] == pytest.approx(0.61) and a["recovered"].startswith("CTCF_like(")
    assert (sig["route"], sig["method"], sig["status"]) == ("attribution", "ism", "ok")
    assert sig["q:CTCF_like"] < 0.05 and sig["n_recovered"] >= 1 and sig["site_auroc"] > 0.9
    assert noise["nothing_found"] and noise["status"] != "ok" and "seqlets" in noise["reason"]
    assert files["png"].stat().st_size > 0 and "<svg" in files["svg"].read_text()[:500]
    # the report's front page: one finding per task, a warning when a run found nothing
    from dnalm.reporting import OverviewInputs, collect_overview

    ov = collect_overview(OverviewInputs(interpretation=[files["tsv"]]))
    (f,) = [f for f in ov.findings if f.title == "Attention vs attribution motifs, tf_ctcf"]
    assert f.status == "warning" and "ISM cnn: CTCF_like(q=" in f.text
    assert "IG dnabert6_tiny: nothing found (" in f.text and "AUROC 0.61 [0.55, 0.66]" in f.text
    (none,) = [f for f in collect_overview(OverviewInputs()).findings
               if f.title == "Attention vs attribution motifs"]  # fmt: skip
    assert none.status == "missing" and "not configured" in none.text


def test_side_by_side_keeps_empty_runs_and_limits_known_columns(tmp_path):
    att = _attention_run(tmp_path / "a", found=False)
    run = InterpretationRun("attention", "lm", "attention", Path(att["summary"]), Path(att["matches"]))
    many = [f"MA{i:04d}" for i in range(MAX_KNOWN_COLUMNS + 5)] + ["CTCF_like"]
    t = interpretation_table("t", [run], many)
    assert list(t.columns) == BASE_COLUMNS  # JASPAR-sized file, nothing matched: no q columns
    assert t.loc[0, "nothing_found"] and "no high-attention region" in t.loc[0, "reason"]
    ok = _attention_run(tmp_path / "b", found=True)
    run2 = InterpretationRun("attention", "lm", "attention", Path(ok["summary"]), Path(ok["matches"]))
    t2 = interpretation_table("t", [run, run2], many)
    assert [c for c in t2.columns if c.startswith("q:")] == ["q:CTCF_like"]
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match=str(bad)):
        interpretation_table("t", [InterpretationRun("attention", "lm", "attention",
                                                     Path(att["summary"]), bad)])  # fmt: skip


# ----------------------------------------------------------------------------- config


def _demo() -> dict:
    import yaml

    return yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())


def test_modisco_selection_defaults_to_attribution_and_is_checked():
    from dnalm import paths as P

    cfg = load_config(_demo())
    tasks, models, methods = P.modisco_selection(cfg)
    assert (tasks, models, methods) == (cfg.attribution.tasks, cfg.attribution.models,
                                        cfg.attribution.methods)  # fmt: skip
    t = tasks[0]
    ins = P.attribution_motif_inputs(cfg, t, models[0], 1, methods[0])
    assert ins["attribution"] == f"results/attribution/{t}/{models[0]}/seed1/{methods[0]}.npz"
    assert P.interpretation_files(t)["tsv"] in P.final_outputs(cfg)
    assert "tasks" not in P.rule_params(cfg, "modisco")
    raw = _demo()
    raw["modisco"].update(tasks=["splice"], methods=["ig"], window=10)
    with pytest.raises(ConfigError) as e:
        load_config(raw)
    assert "modisco.window" in str(e.value) or "`modisco`" in str(e.value)
    raw["modisco"].pop("window")
    with pytest.raises(ConfigError, match=r"modisco\.tasks"):
        load_config(raw)


def test_function_defaults_agree_with_modisco_config_defaults():
    import inspect

    fn = discover_attribution_motifs
    lib = {n: p.default for n, p in inspect.signature(fn).parameters.items()
           if p.default is not inspect.Parameter.empty}  # fmt: skip
    model = type(settings.Config.model_fields["modisco"].default_factory())
    cfg = {n: f.get_default(call_default_factory=True) for n, f in model.model_fields.items()}
    shared = set(lib) & set(cfg)
    assert len(shared) >= 10
    for key in shared:
        assert lib[key] == cfg[key], key


def test_setup_warmup_runs_the_rule_functions_and_fails_when_nothing_is_found(caplog):
    """`make setup` runs `python -m dnalm.attribution_motifs.warmup`: TF-MoDISco and TOMTOM on
    planted synthetic maps, so their numba kernels are compiled (and cached) before the first
    attribution_motifs job. Too few rows to find the motif is an error, not a silent pass."""
    from dnalm.attribution_motifs.warmup import main, planted_maps
    from modiscolite import affinitymat, util

    onehot, hyp = planted_maps(10, seed=3)
    assert onehot.dtype == hyp.dtype == np.float32 and onehot.shape == hyp.shape == (10, 101, 4)
    assert np.allclose(onehot.sum(-1), 1) and np.allclose(hyp.sum(-1), 0, atol=1e-5)
    assert main(["--n", "200"]) == 0
    # kernels of both clustering steps and of the pattern merging have been compiled
    assert affinitymat._signs_magnitudes.overloads and util._symmetrize.overloads
    with caplog.at_level(logging.ERROR, logger="dnalm.attribution_motifs.warmup"):
        assert main(["--n", "4"]) == 1
    assert "found 0 patterns" in caplog.text
