"""``dnalm scan``: a tiny BERT trained to find a motif scans a synthetic genome with planted sites."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from dnalm.cli import main
from dnalm.predict import load_classifier, predict_proba
from dnalm.seq import revcomp

from tests.cli_models import MOTIF, random_classifier, train_motif_classifier, write_genome

pytestmark = pytest.mark.usefixtures("torch_one_thread")

K, W, STRIDE = 5, 64, 16
try:
    import pyBigWig  # noqa: F401

    HAVE_BW = True
except ImportError:  # the BigWig checks need the optional pyBigWig
    HAVE_BW = False


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan")
    rng = np.random.default_rng(7)
    seqs = {"chr1": rng.choice(list("ACGT"), 24_000), "chr2": rng.choice(list("ACGT"), 12_000),
            "chrS": rng.choice(list("ACGT"), 40)}
    sites = []
    for c, n in (("chr1", 8), ("chr2", 4)):
        for i in range(n):
            p = 1000 + i * 2800 + int(rng.integers(0, 400))
            seqs[c][p : p + len(MOTIF)] = list(MOTIF)
            sites.append((c, p, p + len(MOTIF)))
    seqs["chr2"][6000:6300] = "N"  # an assembly gap
    genome = write_genome(tmp, {c: "".join(s) for c, s in seqs.items()})
    model = train_motif_classifier(tmp / "model", K, W)
    return {"tmp": tmp, "genome": genome, "model": model, "sites": sites,
            "seqs": {c: "".join(s) for c, s in seqs.items()}}


def _bedgraph(path: Path) -> list[tuple[str, int, int, float]]:
    rows = [ln.split("\t") for ln in path.read_text().splitlines()]
    return [(c, int(s), int(e), float(v)) for c, s, e, v in rows]


def _bed(path: Path) -> list[tuple[str, int, int]]:
    return [(f[0], int(f[1]), int(f[2])) for f in (ln.split("\t") for ln in path.read_text().splitlines())]


@pytest.fixture(scope="module")
def scanned(world):
    out = world["tmp"] / "out" / "scan"
    truth = world["tmp"] / "sites.bed"
    truth.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in world["sites"]))
    args = [str(world["model"]), "--genome", str(world["genome"]), "--stride", str(STRIDE),
            "--threshold", "0.9", "--min-len", "90", "--truth", str(truth), "--quiet",
            "--device", "cpu", "-o", str(out)]
    if not HAVE_BW:
        args.append("--no-bigwig")
    assert main(["scan", *args]) == 0
    return out


def test_called_regions_find_the_planted_sites(world, scanned):
    regions = _bed(Path(f"{scanned}.bed"))
    sites = world["sites"]

    def hit(a, b):
        return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]

    recall = np.mean([any(hit(s, r) for r in regions) for s in sites])
    precision = np.mean([any(hit(r, s) for s in sites) for r in regions]) if regions else 0.0
    print(f"scan: {len(regions)} regions, {len(sites)} sites, recall {recall:.2f}, "
          f"precision {precision:.2f}")
    assert recall >= 0.9 and precision >= 0.8
    summary = json.loads(Path(f"{scanned}.json").read_text())
    assert summary["n_short_intervals"] == 1  # chrS is shorter than the window
    assert summary["n_skipped_n"] > 0 and summary["n_regions"] == len(regions)
    assert summary["window"] == W and summary["stride"] == STRIDE
    # --truth: the same recall and precision, reported by the command
    t = summary["truth"]
    assert (t["n_sites"], t["n_regions"]) == (len(sites), len(regions))
    assert t["recall"] == pytest.approx(recall) and t["precision"] == pytest.approx(precision)


def test_region_recall_counts_only_scanned_sites():
    from dnalm.scan import region_recall

    scanned = [("chr1", 0, 1000), ("chr2", 0, 500)]
    sites = [("chr1", 100, 101), ("chr1", 900, 901), ("chr2", 10, 11), ("chr3", 5, 6),
             ("chr2", 600, 601)]  # chr3 and chr2:600 lie outside the scanned intervals
    regions = [("chr1", 50, 150), ("chr1", 400, 500), ("chr2", 0, 11)]
    r = region_recall(regions, sites, scanned)
    assert (r["n_sites"], r["n_sites_found"], r["n_regions"], r["n_regions_with_site"]) == (3, 2, 3, 2)
    assert r["recall"] == pytest.approx(2 / 3) and r["precision"] == pytest.approx(2 / 3)
    assert region_recall([], [], scanned)["recall"] is None


def test_bedgraph_tiles_window_centres_with_the_models_probabilities(world, scanned):
    rows = _bedgraph(Path(f"{scanned}.bedGraph"))
    chr1 = [r for r in rows if r[0] == "chr1"]
    # window s is drawn over [s + (W - STRIDE) // 2, + STRIDE): contiguous bins, no overlap
    half = (W - STRIDE) // 2
    assert chr1[0][1:3] == (half, half + STRIDE)
    assert all(a[2] == b[1] for a, b in zip(chr1, chr1[1:], strict=False))
    assert len(chr1) == (24_000 - W) // STRIDE + 1
    # values are predict_proba of the windows, one at a time
    model, k = load_classifier(world["model"])
    picks = [0, 57, 300, len(chr1) - 1]
    wins = [world["seqs"]["chr1"][chr1[i][1] - half : chr1[i][1] - half + W] for i in picks]
    p = predict_proba(model, wins, k, batch_size=1)[:, 1]
    p_rc = predict_proba(model, [revcomp(w) for w in wins], k, batch_size=1)[:, 1]
    assert np.allclose([chr1[i][3] for i in picks], np.maximum(p, p_rc), atol=1e-5)  # --strand both
    # the gap on chr2 leaves no bins
    assert not [r for r in rows if r[0] == "chr2" and 6000 <= r[1] < 6300 - W]


@pytest.mark.skipif(not HAVE_BW, reason="pyBigWig is not installed")
def test_bigwig_reads_back_as_the_bedgraph(world, scanned):
    import pyBigWig

    bw = pyBigWig.open(f"{scanned}.bw")
    assert bw.chroms() == {"chr1": 24_000, "chr2": 12_000, "chrS": 40}
    for c, s, e, v in _bedgraph(Path(f"{scanned}.bedGraph"))[::97]:
        assert bw.values(c, s, e) == pytest.approx([v] * (e - s), abs=1e-6)
    bw.close()


def test_regions_contigs_and_batch_size_do_not_change_the_track(world, tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t900\t2000\nchr1\t1500\t3000\n")  # overlapping: merged
    a, b = tmp_path / "a", tmp_path / "b"
    common = [str(world["model"]), "--genome", str(world["genome"]), "--stride", "7", "--quiet",
              "--no-bigwig", "--device", "cpu"]
    assert main(["scan", *common, "--regions", str(bed), "--batch-size", "1", "-o", str(a)]) == 0
    assert main(["scan", *common, "--contigs", "chr1", "--batch-size", "64", "-o", str(b)]) == 0
    ra, rb = _bedgraph(Path(f"{a}.bedGraph")), _bedgraph(Path(f"{b}.bedGraph"))
    assert ra[0][1] == 900 + (W - 7) // 2 and ra[-1][2] <= 3000 and len(ra) == (3000 - 900 - W) // 7 + 1
    # same window starts in both runs: same probabilities whatever the batch size
    vb = {s: v for _, s, _, v in rb}
    assert all(abs(vb[s] - v) < 1e-6 for _, s, _, v in ra if s in vb)
    assert {c for c, *_ in rb} == {"chr1"}


def test_bad_inputs_exit_2_name_the_line_and_leave_nothing(world, tmp_path, capsys):
    out = tmp_path / "o"
    base = [str(world["model"]), "--genome", str(world["genome"]), "--quiet", "--no-bigwig",
            "-o", str(out)]
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t10\t500\nchr1\tten\t900\n")
    assert main(["scan", *base, "--regions", str(bed)]) == 2
    assert f"{bed}:2:" in capsys.readouterr().err
    bed.write_text("chr1\t10\t500\nchr9\t10\t900\n")
    assert main(["scan", *base, "--regions", str(bed)]) == 2
    assert f"{bed}:2: contig 'chr9'" in capsys.readouterr().err
    assert main(["scan", *base, "--contigs", "chr1,chrX"]) == 2
    assert "chrX" in capsys.readouterr().err
    assert main(["scan", *base, "--threshold", "1.5"]) == 2
    assert "--threshold" in capsys.readouterr().err
    nocard = random_classifier(tmp_path / "nocard", K, window=None)
    assert main(["scan", str(nocard), *base[1:]]) == 2
    assert "--window" in capsys.readouterr().err
    assert list(tmp_path.glob("o*")) == [] and list(tmp_path.glob(".o*")) == []


def test_long_windows_go_through_the_long_input_classifier(world, tmp_path):
    from dnalm import kmers
    from dnalm.longseq import LongSeqClassifier
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=kmers.vocab_size(4), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     initializer_range=0.5)
    torch.manual_seed(0)
    LongSeqClassifier(BertModel(cfg), 2, "mean").eval().save(tmp_path / "long", 4)
    out = tmp_path / "long_scan"
    window = 150  # three 64-token pieces
    assert main(["scan", str(tmp_path / "long"), "--genome", str(world["genome"]), "--window",
                 str(window), "--stride", "100", "--contigs", "chr2", "--strand", "+", "--quiet", "--no-bigwig",
                 "--device", "cpu", "-o", str(out)]) == 0
    rows = _bedgraph(Path(f"{out}.bedGraph"))
    model, k = load_classifier(tmp_path / "long")
    starts = [s - (window - 100) // 2 for _, s, _, _ in rows[:5]]
    p = predict_proba(model, [world["seqs"]["chr2"][s : s + window] for s in starts], k)[:, 1]
    assert np.allclose([v for *_, v in rows[:5]], p, atol=1e-5)
    assert np.ptp(p) > 0  # the windows' contents matter



def test_minus_strand_scores_reverse_complements(world, tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr2\t100\t400\n")
    out = tmp_path / "minus"
    assert main(["scan", str(world["model"]), "--genome", str(world["genome"]), "--regions",
                 str(bed), "--stride", "50", "--strand", "-", "--quiet", "--no-bigwig",
                 "--device", "cpu", "-o", str(out)]) == 0
    rows = _bedgraph(Path(f"{out}.bedGraph"))
    starts = [s - (W - 50) // 2 for _, s, _, _ in rows]
    assert starts == list(range(100, 400 - W + 1, 50))
    model, k = load_classifier(world["model"])
    p = predict_proba(model, [revcomp(world["seqs"]["chr2"][s : s + W]) for s in starts], k)[:, 1]
    assert np.allclose([v for *_, v in rows], p, atol=1e-5)


def test_repeated_contigs_are_refused_and_gzip_regions_read(world, tmp_path, capsys):
    """`--contigs chr1,chr1` scanned chr1 twice: a doubled bedGraph and regions (and, with the
    BigWig, a pyBigWig traceback); a gzip BED of regions failed with a bare decode error."""
    import gzip

    base = [str(world["model"]), "--genome", str(world["genome"]), "--quiet", "--no-bigwig",
            "--stride", "50", "--device", "cpu"]
    assert main(["scan", *base, "--contigs", "chr2,chr2", "-o", str(tmp_path / "d")]) == 2
    assert "--contigs names 'chr2' more than once" in capsys.readouterr().err
    assert not list(tmp_path.glob("d*"))
    plain, gz = tmp_path / "r.bed", tmp_path / "r.bed.gz"
    plain.write_text("chr1\t900\t2000\n")
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert main(["scan", *base, "--regions", str(plain), "-o", str(tmp_path / "a")]) == 0
    assert main(["scan", *base, "--regions", str(gz), "-o", str(tmp_path / "b")]) == 0
    assert Path(f"{tmp_path / 'a'}.bedGraph").read_text() == Path(f"{tmp_path / 'b'}.bedGraph").read_text()
    nochr = tmp_path / "n.bed"  # "1" for chr1, as score-variants matches VCF contigs
    nochr.write_text("1\t900\t2000\n")
    assert main(["scan", *base, "--regions", str(nochr), "-o", str(tmp_path / "nc")]) == 0
    assert Path(f"{tmp_path / 'nc'}.bedGraph").read_text() == Path(f"{tmp_path / 'a'}.bedGraph").read_text()
    binary = tmp_path / "x.bed"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" * 10)
    assert main(["scan", *base, "--regions", str(binary), "-o", str(tmp_path / "c")]) == 2
    assert f"{binary}: not a text BED file" in capsys.readouterr().err


def test_an_output_that_is_a_directory_is_refused_before_the_scan(world, tmp_path, capsys):
    """`-o c` with a directory `c.bed` failed after the whole scan, naming a hidden temporary
    file, and left the other outputs behind."""
    (tmp_path / "c.bed").mkdir()
    rc = main(["scan", str(world["model"]), "--genome", str(world["genome"]), "--contigs", "chrS",
               "--no-bigwig", "--quiet", "--device", "cpu", "-o", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2 and f"would write {tmp_path / 'c.bed'}, which is a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.bed"]


def test_an_output_that_is_an_input_bed_is_refused(world, tmp_path, capsys):
    """`--regions peaks.bed -o peaks` replaced the regions with the called ones."""
    regions = tmp_path / "peaks.bed"
    regions.write_text("chrS\t0\t400\n")
    rc = main(["scan", str(world["model"]), "--genome", str(world["genome"]), "--regions", str(regions),
               "--no-bigwig", "--quiet", "--device", "cpu", "-o", str(tmp_path / "peaks")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and f"would overwrite the input {regions}" in err, err
    assert regions.read_text() == "chrS\t0\t400\n"
