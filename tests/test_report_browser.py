"""report.html opens on the front page: a small run's report rendered by headless Chromium.

The run is synthetic but goes through the real rules: fine-tuning outputs and dataset cards are
written in their formats (:mod:`tests.report_synth`), then Snakemake runs only the summary and
report rules (``summary_build``, ``summary_section``, ``report_tables``, ``report_overview``) in a
copy of the workflow and builds ``results/report.html`` with ``snakemake --report``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests import report_synth as RS
from tests.chromium import dump_dom, find_chromium, front_page_layout, screenshot
from tests.e2e_demo import snakemake
from tests.workflow_copy import copy_workflow, strip_downstream_stages, use_finetune_models

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULES = ("summary_build", "summary_section", "report_tables", "report_overview")
TARGET = "results/report/overview.html"


def _small_config(wf: Path) -> None:
    """The demo config cut to the synthetic tasks, models and seeds; an imported LM (no
    pretraining) and no interpretation stage, so only the report rules have work to do."""
    path = wf / "config" / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["tasks"] = {t: cfg["tasks"][t] for t in RS.TASKS}
    for spec in cfg["tasks"].values():  # the synthetic runs stand for the datasets: no splice loop
        spec.pop("hard_negatives", None)
    cfg["language_models"][RS.LM]["pretrained"] = "resources/lm_src"
    cfg["finetune"].update(models=list(RS.SIGNAL), seeds=list(RS.SEEDS))
    strip_downstream_stages(cfg)
    use_finetune_models(cfg)
    cfg["language_models"] = {RS.LM: cfg["language_models"][RS.LM]}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    (wf / "resources" / "lm_src").mkdir(parents=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    find_chromium()  # skip before the run when there is no browser
    wf = copy_workflow(tmp_path_factory.mktemp("report") / "wf")
    _small_config(wf)
    RS.write_runs(wf)
    model = wf / "results" / "pretrain" / RS.LM / "model"
    model.mkdir(parents=True)
    (model / "learning_check.json").write_text(json.dumps({"verdict": "learns", "margin": 0.06}))
    allowed = ["--allowed-rules", *RULES]
    r = snakemake(wf, "--cores", "2", TARGET, *allowed, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    rep = snakemake(wf, "--cores", "1", "--report", "results/report.html", TARGET, *allowed,
                    timeout=600)  # fmt: skip
    assert rep.returncode == 0, (rep.stdout + rep.stderr)[-4000:]
    return wf / "results" / "report.html"


def test_front_page_shows_the_headline_table(report, tmp_path):
    dom = dump_dom(report, tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr[-3000:]
    html = dom.stdout
    assert "Uncaught" not in dom.stderr, dom.stderr[-3000:]
    # the landing page is the front page: title, headline table, findings
    assert "What this run shows" in html and "Headline: test MCC [95% CI]" in html
    assert "Key findings" in html and "Pretrained vs scratch, every task (Fig. 6d)" in html
    overview = json.loads((report.parent / "report" / "overview.json").read_text())
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())  # a cell's two lines read as one
    for row in overview["headline"]:
        lm = row[RS.LM]
        cell = f"{lm['value']:.2f} [{lm['lo']:.2f}, {lm['hi']:.2f}]"
        assert row["task"] in text and cell in text, (row["task"], cell)
    for cat in ("0 Overview", "1 Promoters (Fig. 2)", "2 TF binding sites (Fig. 3)",
                "4 Splice sites (Fig. 5)", "6 Pretraining benefit and transfer (Fig. 6)",
                "8 Datasets, corpus, software and config"):  # fmt: skip
        assert cat in html, cat
    assert "not configured: no attention task" in html  # a stage left out says so
    at = front_page_layout(report, tmp_path)  # the table is not drawn under the rule graph
    assert at["table"] is not None and at["graph"] is not None and at["table"] <= at["graph"], at


def test_screenshot_is_the_front_page(report, tmp_path):
    import matplotlib.image as mpimg

    shot = screenshot(report, tmp_path / "report.png", tmp_path / "profile")
    assert shot.is_file() and shot.stat().st_size > 10_000
    img = mpimg.imread(shot)
    assert img.shape[:2] == (1000, 1400)
    # not a blank page: the right of the navbar holds dark text on white (the table)
    content = img[:500, 400:1100, :3].mean(axis=2)
    assert (content < 0.3).mean() > 0.01 and np.std(content) > 0.05
