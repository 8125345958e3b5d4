"""dnalm.reporting: the front page is computed from the result files, with n and CI everywhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dnalm.reporting import (
    CATEGORIES,
    Estimate,
    OverviewInputs,
    collect_overview,
    overview_markdown,
    task_sections,
    write_overview,
)

from tests import report_synth as RS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    RS.write_results(root)
    return root / "results"


def _finding(ov, title_part: str):
    hits = [f for f in ov.findings if title_part in f.title]
    assert hits, [f.title for f in ov.findings]
    return hits


def test_headline_equals_benchmarks_mean_rows(results):
    ov = collect_overview(OverviewInputs.from_results(results))
    bench = pd.read_csv(results / "summary" / "benchmarks.tsv", sep="\t", dtype={"seed": str})
    mean = bench[bench["seed"] == "mean"].set_index(["task", "model"])
    assert [r["task"] for r in ov.headline] == list(RS.TASKS)
    assert ov.columns == [RS.LM, f"{RS.LM}-scratch", "best baseline"]
    for row in ov.headline:
        kind = RS.TASKS[row["task"]][0]
        assert row["section"] == {"promoter": "promoters", "tfbs": "tf_sites", "splice": "splice"}[kind]
        for model in (RS.LM, f"{RS.LM}-scratch"):
            est, ref = row[model], mean.loc[(row["task"], model)]
            assert isinstance(est, Estimate)
            assert est.value == pytest.approx(ref["mcc"], abs=1e-6)
            assert est.lo == pytest.approx(max(-1.0, ref["mcc_lo"]), abs=1e-6)
            assert est.hi == pytest.approx(min(1.0, ref["mcc_hi"]), abs=1e-6)
            assert est.n == RS.TASKS[row["task"]][3] and est.n_seeds == len(RS.SEEDS)
        assert row["best baseline"].label == "cnn"


def test_findings_carry_numbers_from_the_files(results):
    ov = collect_overview(OverviewInputs.from_results(results))
    comp = pd.read_csv(results / "summary" / "comparisons.tsv", sep="\t")
    (pre,) = _finding(ov, "Pretrained vs scratch, every task (Fig. 6d)")
    pairs = comp[(comp["model_b"] == f"{RS.LM}-scratch") & (comp["task"] != "all")]
    assert len(pairs) == len(RS.TASKS)
    for r in pairs.itertuples():  # every task's delta, its CI, p and n as written in the table
        assert (f"{r.task} {r.delta_mcc:+.2f} [{r.delta_lo:+.2f}, {r.delta_hi:+.2f}]" in pre.text)
        assert f"n={int(r.n_test)}" in pre.text
    assert pre.status == "ok" and f"above 0 on {len(pairs)} and below 0 on 0 of {len(pairs)} tasks" in pre.text
    (transfer,) = _finding(ov, "Transfer")
    assert "tf_mm_ctcf (demo_mm)" in transfer.text and "n=100" in transfer.text
    (learn,) = _finding(ov, "does the LM learn")
    assert learn.status == "ok" and "verdict: learns" in learn.text
    assert "accuracy 0.281 [0.270, 0.290] vs the k-mer frequency baseline 0.021" in learn.text
    assert "margin +0.260 [+0.250, +0.270]" in learn.text and "n=20480 masked tokens" in learn.text
    tata = _finding(ov, "Attention, prom_core_tata")[0]
    assert "peaks at -29 bp" in tata.text and "holds" in tata.text and "n=60" in tata.text
    (motif,) = _finding(ov, "Attention motifs, tf_ctcf")
    assert "CTCF_like (q=8e-19" in motif.text and "37 sites" in motif.text
    assert "p53_like" not in motif.text  # q = 0.4: not recovered
    (var,) = _finding(ov, "Functional variants, tf_ctcf")
    cv = pd.read_csv(results / "variants" / "tf_ctcf" / RS.LM / "clinvar.tsv", sep="\t")
    two = cv[cv["clinvar_class"] != "uncertain"]
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(two["clinvar_class"] == "pathogenic", two["score"])
    m = re.search(r"AUROC by \|logOR\| ([0-9.]+) \[([0-9.]+), ([0-9.]+)\] \(n=30 pathogenic, "
                  r"50 benign\)", var.text)  # fmt: skip
    assert m, var.text
    a, lo, hi = map(float, m.groups())
    assert a == pytest.approx(auc, abs=0.005) and lo < a < hi
    assert "14 of 900" in var.text and "p=2e-08" in var.text
    assert "zero-shot LM AUROC (by -LLR) 0.61 [0.48, 0.73]" in var.text
    assert "12 of 30 pathogenic significant at FDR 0.05, 0 of 50 benign" in var.text
    # the stage's own AUROC interval wins over the one computed here
    s = json.loads((results / "variants" / "tf_ctcf" / RS.LM / "summary.json").read_text())
    s["auroc_pathogenic_vs_benign_ci"] = {"score": {"auroc": 0.9, "ci": [0.8, 0.97],
                                                    "n_pathogenic": 30, "n_benign": 50}}
    d = results.parent / "alt_variants" / "tf_ctcf" / RS.LM
    d.mkdir(parents=True)
    (d / "summary.json").write_text(json.dumps(s))
    (d / "clinvar.tsv").write_text((results / "variants" / "tf_ctcf" / RS.LM / "clinvar.tsv").read_text())
    (alt,) = collect_overview(OverviewInputs(variants=[d / "clinvar.tsv"])).findings[-1:]
    assert "AUROC by |logOR| 0.90 [0.80, 0.97] (n=30 pathogenic, 50 benign)" in alt.text


def test_unconfigured_stages_say_so_without_numbers(results, tmp_path):
    inputs = OverviewInputs(
        benchmarks=results / "summary" / "benchmarks.tsv",
        cards=sorted(results.glob("datasets/*/card.json")),
        lm_dirs=[tmp_path / "pretrain" / "lm_x" / "model"],
    )
    (tmp_path / "pretrain" / "lm_x" / "model").mkdir(parents=True)
    ov = collect_overview(inputs)
    assert len(ov.headline) == len(RS.TASKS)
    missing = {f.title: f for f in ov.findings if f.status == "missing"}
    assert "not measured" in missing["lm_x: does the LM learn?"].text
    for title in ("Pretrained vs scratch, every task (Fig. 6d)", "Attention (Fig. 4)",
                  "Attention motifs (Fig. 4)", "Functional variants (Fig. 5)"):  # fmt: skip
        assert title in missing, sorted(missing)
        assert not re.search(r"\d\.\d", missing[title].text), missing[title].text
    empty = collect_overview(OverviewInputs())
    assert empty.headline == [] and all(f.status == "missing" for f in empty.findings)


def test_failed_claims_are_warnings(results, tmp_path):
    import shutil

    r = tmp_path / "results"
    shutil.copytree(results, r)
    att = r / "attention" / "prom_core_tata" / RS.LM / "summary.json"
    s = json.loads(att.read_text())
    s["landscape"].update(peak_position=-2, pvalue=0.3)
    s["landscape"]["tata_claim"].update(holds=False)
    att.write_text(json.dumps(s))
    mt = r / "motifs" / "tf_ctcf" / RS.LM / "matches.tsv"
    m = pd.read_csv(mt, sep="\t")
    m["q"] = 0.5
    m.to_csv(mt, sep="\t", index=False)
    (r / "pretrain" / RS.LM / "model" / "learning_check.json").write_text(
        json.dumps({"verdict": "does_not_beat_baseline", "acc_margin": 0.001}))  # fmt: skip
    ov = collect_overview(OverviewInputs.from_results(r))
    by = {f.title: f for f in ov.findings}
    assert by[f"Attention, prom_core_tata ({RS.LM})"].status == "warning"
    assert "does NOT hold" in by[f"Attention, prom_core_tata ({RS.LM})"].text
    assert by[f"Attention motifs, tf_ctcf ({RS.LM})"].status == "warning"
    assert by[f"{RS.LM}: does the LM learn?"].status == "warning"
    md = overview_markdown(ov)
    assert "**WARNING:** " in md and re.search(r"\*\*\d+ of \d+ findings are warnings", md), md[:500]
    from dnalm.reporting.render import overview_html, overview_rst

    assert "**WARNING:** " in overview_rst(ov) and "findings are warnings" in overview_html(ov)


def test_malformed_files_are_named(results, tmp_path):
    bad = tmp_path / "benchmarks.tsv"
    pd.DataFrame({"task": ["t"], "model": ["m"], "seed": ["mean"]}).to_csv(bad, sep="\t")
    with pytest.raises(ValueError, match=r"benchmarks.tsv:1: missing column"):
        collect_overview(OverviewInputs(benchmarks=bad))
    d = tmp_path / "attention" / "t" / "m"
    d.mkdir(parents=True)
    (d / "summary.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"summary.json:1: not valid JSON"):
        collect_overview(OverviewInputs(attention=[d / "summary.json"]))
    with pytest.raises(ValueError, match="`config`: one file expected"):
        OverviewInputs.from_lists(config=["a.yaml", "b.yaml"])


def test_write_overview_renders_valid_rst_html_json(results, tmp_path):
    from docutils.core import publish_string

    out = tmp_path / "report"
    ov = write_overview(OverviewInputs.from_results(results), out / "overview.html",
                        out / "overview.rst", out / "overview.json")  # fmt: skip
    rst = (out / "overview.rst").read_text()
    # strict parse: any docutils warning (e.g. an unescaped `|logOR|`) is an error
    publish_string(rst, writer="html5",
                   settings_overrides={"halt_level": 2, "report_level": 5})  # fmt: skip
    html = (out / "overview.html").read_text()
    assert "<table" in html and "What this run shows" in html
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.cells: list[str] = []

        def handle_data(self, data):
            self.cells.append(data)

    parser = Cells()
    parser.feed(html)
    lm = ov.headline[0][RS.LM]
    assert lm.text() in parser.cells and "Key findings" in parser.cells
    for task in RS.TASKS:
        assert task in html
    js = json.loads((out / "overview.json").read_text())
    assert js["columns"] == ov.columns and len(js["headline"]) == len(RS.TASKS)
    assert js["headline"][0][RS.LM]["n"] == RS.TASKS[js["headline"][0]["task"]][3]


def test_front_page_table_cells_stack_intervals_and_keep_dashes(results):
    """On report.html's front page an estimate's interval sits under its value (the table
    then fits beside the rule graph), and a task outside the paper's figures shows "-", not
    an empty bullet list."""
    from dnalm.reporting.render import overview_rst
    from docutils.core import publish_parts

    ov = collect_overview(OverviewInputs.from_results(results))
    ov.headline[0]["section"] = "other"
    body = publish_parts(overview_rst(ov), writer="html5",
                         settings_overrides={"halt_level": 2, "report_level": 5})["body"]
    table = body[body.index("<table"):body.index("</table>")]
    assert "<ul" not in table and re.search(r"<td>\s*(<p>)?-(</p>)?\s*</td>", table), table[:3000]
    lm = ov.headline[0][RS.LM]
    lines = re.findall(r'<div class="line">([^<]*)</div>', table)
    assert [f"{lm.value:.2f}", f"[{lm.lo:.2f}, {lm.hi:.2f}]"] == lines[lines.index(f"{lm.value:.2f}"):][:2]
    assert ["dnabert6_tiny", "-scratch"] == lines[:2]  # the first stacked header
    # the README and the standalone page keep one-line cells
    assert lm.text() in overview_markdown(ov)


def test_readme_table_cli(results, tmp_path):
    r = subprocess.run([sys.executable, "-m", "dnalm.reporting", "readme-table", str(results)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"| figure | task | n test | seeds | {RS.LM} | {RS.LM}-scratch | best baseline |"
    rows = [ln for ln in lines if ln.startswith("| Fig.")]
    assert len(rows) == len(RS.TASKS)
    assert all(re.search(r"\| -?\d\.\d\d \[-?\d\.\d\d, -?\d\.\d\d\] \|", ln) for ln in rows)
    bad = subprocess.run([sys.executable, "-m", "dnalm.reporting", "readme-table",
                          str(tmp_path / "nope")], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "not a folder" in bad.stderr


def test_categories_follow_the_paper_and_cover_every_rule():
    names = list(CATEGORIES.values())
    assert names == sorted(names) and names[0] == "0 Overview"  # the report sorts by name
    for fig, key in (("Fig. 2", "promoters"), ("Fig. 3", "tf_sites"), ("Fig. 4", "attention"),
                     ("Fig. 5", "splice"), ("Fig. 6", "pretraining")):  # fmt: skip
        assert fig in CATEGORIES[key]
    used = set()
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        used |= set(re.findall(r'(?<!sub)category="([^"]+)"', smk.read_text()))
    assert used and used <= set(names), sorted(used - set(names))
    assert task_sections({"a": {"kind": "splice"}, "b": {"kind": "promoter"},
                          "c": {"kind": "imported"}}) == {  # fmt: skip
        "promoters": ["b"], "splice": ["a"], "other": ["c"]}


def test_estimate_text():
    assert Estimate(0.5, 0.25, 0.75, 10, 3).text() == "0.50 [0.25, 0.75]"
    assert Estimate(0.5).text() == "0.50"
    assert Estimate(np.nan).text() == "n/a"


def test_data_scarce_benefit_finding(tmp_path):
    from dnalm.benefit import BENEFIT_COLUMNS, TARGET_DELTA

    rows = []
    for task, delta in (("a", 0.15), ("b", 0.12), ("c", 0.11), ("d", 0.02)):
        rows.append({"task": task, "lm": RS.LM, "n_seeds": 3, "n_train": 200, "n_test": 150,
                     "delta_mcc": delta, "delta_lo": delta - 0.05, "delta_hi": delta + 0.05,
                     "p_bootstrap": 0.01, "p_paired": 0.04})  # fmt: skip
    rows.append({"task": "all", "lm": RS.LM, "n_seeds": 12, "delta_mcc": 0.1, "p_paired": 0.002})
    path = tmp_path / "pretraining_benefit.tsv"
    pd.DataFrame(rows).reindex(columns=list(BENEFIT_COLUMNS)).to_csv(path, sep="\t", index=False)
    (f,) = [f for f in collect_overview(OverviewInputs(benefit=path)).findings
            if "data-scarce" in f.title]  # fmt: skip
    assert f.status == "ok" and f"ΔMCC ≥ {TARGET_DELTA} on 3 of 4 tasks" in f.text
    assert "a +0.15 [+0.10, +0.20] (n_train=200, n_test=150, 3 seeds)" in f.text
    assert "Pooled: +0.10 over 12 (task, seed) pairs, paired p=0.002" in f.text
    pd.DataFrame(rows[3:4]).reindex(columns=list(BENEFIT_COLUMNS)).to_csv(path, sep="\t", index=False)
    (f,) = [f for f in collect_overview(OverviewInputs(benefit=path)).findings
            if "data-scarce" in f.title]  # fmt: skip
    assert f.status == "warning" and "on 0 of 1 tasks" in f.text
    gpt = {**rows[0], "lm": "dnagpt_tiny", "n_seeds": 1, "n_train": 480}
    pd.DataFrame([rows[0], gpt]).reindex(columns=list(BENEFIT_COLUMNS)).to_csv(path, sep="\t", index=False)
    titles = [f.title for f in collect_overview(OverviewInputs(benefit=path)).findings if "benefit" in f.title]
    assert titles == ["Pretraining benefit on data-scarce tasks (Fig. 6d)",
                      "Pretraining benefit, dnagpt_tiny vs its scratch twin on full tasks"]  # fmt: skip


def test_a_collapsed_model_is_marked_not_read_as_a_score(tmp_path):
    """A model that gave every test row one class has MCC 0 by definition: its cell is marked
    with how many seeds collapsed, the table's note says what the mark means, and a win over
    such a best baseline is said to be one (the demo's CNN did this on prom300_tata on AVX2)."""
    from dnalm.metrics import classification_metrics
    from dnalm.reporting.render import overview_html, overview_rst
    from dnalm.summary import build_summary

    paths = RS.write_runs(tmp_path)
    n = RS.TASKS["tf_ctcf"][3]
    for seed in (1, 2):  # the CNN collapses on 2 of its 3 tf_ctcf seeds
        d = tmp_path / "results" / "finetune" / "tf_ctcf" / "cnn" / f"seed{seed}"
        pred = pd.read_csv(d / "predictions.tsv.gz", sep="\t")
        pred["p0"], pred["p1"], pred["pred"] = 0.9, 0.1, 0
        pred.to_csv(d / "predictions.tsv.gz", sep="\t", index=False, compression="gzip")
        m = classification_metrics(pred["label"].to_numpy(), pred[["p0", "p1"]].to_numpy())
        assert m["constant_prediction"] and m["mcc"] == 0
        m.update(task="tf_ctcf", model="cnn", seed=seed, n_test=n, n_train=4 * n, n_dev=n,
                 n_classes=2, dev_mcc=0.0, init="random")
        (d / "metrics.json").write_text(json.dumps(m))
    s = tmp_path / "results" / "summary"
    build_summary(paths, s / "benchmarks.tsv", s / "mcc.png", s / "roc_pr.png", s / "curves.png",
                  comparisons_tsv=s / "comparisons.tsv")  # fmt: skip
    ov = collect_overview(OverviewInputs.from_results(tmp_path / "results"))
    rows = {r["task"]: r for r in ov.headline}
    base = rows["tf_ctcf"]["best baseline"]
    assert base.label == "cnn" and base.n_constant == 2 and base.n_seeds == 3
    assert all(r["best baseline"].n_constant == 0 and r[RS.LM].n_constant == 0
               for t, r in rows.items() if t != "tf_ctcf")  # fmt: skip
    md = overview_markdown(ov)
    (line,) = [ln for ln in md.splitlines() if "| tf_ctcf |" in ln]
    assert re.search(r"cnn -?\d\.\d\d \[-?\d\.\d\d, -?\d\.\d\d\] †2/3 \|$", line), line
    assert sum("†" in ln for ln in md.splitlines() if ln.startswith("| Fig.")) == 1
    assert "one class for every test row in k of n seeds" in md
    for page in (overview_rst(ov), overview_html(ov)):
        assert "†2/3" in page and "in k of n seeds" in page
    from docutils.core import publish_parts

    body = publish_parts(overview_rst(ov), writer="html5",
                         settings_overrides={"halt_level": 2, "report_level": 5})["body"]
    assert "[" in body and "†2/3" in body  # the marked cell still parses as RST
    (vs,) = _finding(ov, f"{RS.LM} against the best baseline")
    assert "tf_ctcf vs cnn (collapsed: one class for every test row in 2 of 3 seeds)" in vs.text
    assert vs.text.count("collapsed") == 1 + ("against a collapsed baseline" in vs.text)
    comp = pd.read_csv(s / "comparisons.tsv", sep="\t")
    win = comp[(comp["task"] == "tf_ctcf") & (comp["model_a"] == RS.LM) & (comp["model_b"] == "cnn")]
    shown = bool(win["delta_lo"].iloc[0] > 0 and win["p_paired"].iloc[0] < 0.05)  # 3 seeds: both tests
    assert ("1 of them against a collapsed baseline" in vs.text) == shown
    # the control: the untouched tree marks nothing and adds no note
    plain = tmp_path / "plain"
    RS.write_results(plain)
    md = overview_markdown(collect_overview(OverviewInputs.from_results(plain / "results")))
    assert "†" not in md and "collapsed" not in md


def test_attention_findings_flag_what_is_not_shown(results, tmp_path):
    """Attention bullets whose contrast was not significant, whose peak sat on the window's
    edge, or whose attention missed (or avoided) the planted sites read as plain 'ok' lines."""
    import shutil

    r = tmp_path / "results"
    shutil.copytree(results, r)
    title = f"Attention, prom_core_tata ({RS.LM})"
    att = r / "attention" / "prom_core_tata" / RS.LM / "summary.json"
    good = json.loads(att.read_text())
    assert {f.title: f for f in collect_overview(OverviewInputs.from_results(r)).findings}[title].status == "ok"
    pos = good["landscape"]["position"]
    cases = [
        ({"pvalue": 0.2}, None, "no significant class contrast (p ≥ 0.05)"),
        ({"peak_position": pos[-2]}, None, "edge effect"),
        ({}, {"auroc": 0.55, "ci_low": 0.45, "ci_high": 0.65}, "does not pick out the planted sites"),
        ({}, {"auroc": 0.3, "ci_low": 0.24, "ci_high": 0.35}, "avoids the planted sites"),
    ]
    for land, site, text in cases:
        s = json.loads(json.dumps(good))
        s["landscape"].update(land)
        if "tata_claim" in s["landscape"] and land:
            s["landscape"]["tata_claim"]["holds"] = False
        s.setdefault("site_auroc", {}).update(site or {})
        if site:
            s["site_auroc"].setdefault("n_rows", 30)
        att.write_text(json.dumps(s))
        f = {f.title: f for f in collect_overview(OverviewInputs.from_results(r)).findings}[title]
        assert f.status == "warning" and text in f.text, (land, site, f.text)


def test_a_difference_needs_the_seeds_to_agree(results, tmp_path):
    """With 3 seeds the paired bootstrap over test rows holds the fine-tuning runs fixed: a CI
    above 0 whose seeds disagree (paired t p >= 0.05) is not counted as shown; a transfer
    finding states the pretrained - scratch difference and warns when it is not above 0."""
    import shutil

    r = tmp_path / "results"
    shutil.copytree(results, r)
    comp_path = r / "summary" / "comparisons.tsv"
    comp = pd.read_csv(comp_path, sep="\t")
    pre = (comp["model_a"] == RS.LM) & (comp["model_b"] == f"{RS.LM}-scratch") & (comp["task"] != "all")
    assert (comp.loc[pre, "delta_lo"] > 0).all() and (comp.loc[pre, "n_seeds"] >= 3).all()
    comp.loc[pre, "p_paired"] = 0.2
    comp.loc[pre, "p_bootstrap"] = 0.0009995
    comp.to_csv(comp_path, sep="\t", index=False)
    ov = collect_overview(OverviewInputs.from_results(r))
    (f,) = _finding(ov, "Pretrained vs scratch, every task (Fig. 6d)")
    n = int(pre.sum())
    assert f"above 0 on 0 and below 0 on 0 of {n} tasks" in f.text and f.status == "warning"
    assert re.search(r"p≤0\.001 \(3 seeds: \[[-+]\d\.\d\d, [-+]\d\.\d\d\], paired t p=0\.2", f.text), f.text
    (transfer,) = _finding(ov, "Transfer")
    assert "pretrained − scratch" in transfer.text and "no difference shown" in transfer.text
    assert transfer.status == "warning"


def test_a_reversed_zero_shot_score_is_a_warning(results, tmp_path):
    """A zero-shot AUROC whose CI lies below 0.5 (the LM finds pathogenic alleles the likelier
    ones) was printed as an ordinary number on an 'ok' line."""
    import shutil

    r = tmp_path / "results"
    shutil.copytree(results, r)
    p = r / "variants" / "tf_ctcf" / RS.LM / "summary.json"
    s = json.loads(p.read_text())
    title = next(f.title for f in collect_overview(OverviewInputs.from_results(r)).findings
                 if f.title.startswith("Functional variants, tf_ctcf"))  # fmt: skip
    s["zero_shot_auroc"].update(auroc=0.2, ci=[0.11, 0.29])
    p.write_text(json.dumps(s))
    f = {f.title: f for f in collect_overview(OverviewInputs.from_results(r)).findings}[title]
    assert f.status == "warning" and "significantly reversed (CI below 0.5)" in f.text


def test_splice_loop_rounds_reach_the_front_page(results, tmp_path):
    """The hard-negative loop's rounds (SpliceFinder) were only in their own section: a loop
    that raised the held-out false positives did not show on the front page."""
    import shutil

    from dnalm.splice_loop import ROUND_COLUMNS

    r = tmp_path / "results"
    shutil.copytree(results, r)
    d = r / "splice_loop" / "splice"
    d.mkdir(parents=True)
    base = dict.fromkeys(ROUND_COLUMNS, 0)
    rows = [{**base, "task": "splice", "round": i, "model": "cnn", "test_mcc": mcc, "heldout_n": 2000,
             "heldout_fpr": f, "heldout_fpr_lo": f - 0.02, "heldout_fpr_hi": f + 0.02,
             "heldout_auroc": a, "n_test_sites": 120, "eval_seeds": 3, "fpr_vs_round0": v}
            for i, (mcc, f, a, v) in enumerate([(0.64, 0.31, 0.87, "reference"),
                                                (0.44, 0.47, 0.69, "no clear change")])]  # fmt: skip
    pd.DataFrame(rows).to_csv(d / "rounds.tsv", sep="\t", index=False)
    (f,) = _finding(collect_overview(OverviewInputs.from_results(r)), "Splice hard negatives, splice")
    assert f.status == "warning" and "did not lower the false positives" in f.text
    assert "0.31 [0.29, 0.33] → 0.47 [0.45, 0.49] (n=2000 GT/AG non-sites" in f.text
    assert "test MCC 0.64 → 0.44" in f.text and "n=120 test sites" in f.text
    rows[1].update(heldout_fpr=0.2, heldout_fpr_lo=0.18, heldout_fpr_hi=0.22, fpr_vs_round0="lower")
    pd.DataFrame(rows).to_csv(d / "rounds.tsv", sep="\t", index=False)
    (f,) = _finding(collect_overview(OverviewInputs.from_results(r)), "Splice hard negatives, splice")
    assert f.status == "ok" and f.text.endswith("Last round vs round 0: lower.")
