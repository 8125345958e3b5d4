"""narrowPeak parsing and positives (summit, dedupe, top-N, contigs); negatives: test_negatives."""

import gzip
from pathlib import Path

import numpy as np
import pysam
import pytest
from dnalm import tfbs
from dnalm.fasta import Genome


def make_genome(tmp_path: Path, seed: int = 0) -> tuple[Path, dict[str, str]]:
    """Three contigs with GC varying along them (so GC matching has work) and an N gap."""
    rng = np.random.default_rng(seed)
    seqs = {}
    for c, n in {"chr1": 60_000, "chr2": 40_000, "chrX": 20_000}.items():
        gc = 0.3 + 0.4 * (np.arange(n) // 5000 % 2)  # alternating AT-rich / GC-rich blocks
        u = rng.random(n)
        base = np.where(
            u < gc / 2, "G", np.where(u < gc, "C", np.where(u < gc + (1 - gc) / 2, "A", "T"))
        )
        seqs[c] = "".join(base)
    seqs["chr2"] = seqs["chr2"][:30_000] + "N" * 2000 + seqs["chr2"][32_000:]
    fa = tmp_path / "genome.fa"
    fa.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    pysam.faidx(str(fa))
    contigs = tmp_path / "contigs.tsv"
    contigs.write_text(
        "name\tlength\tucsc\tensembl\trefseq\taliases\n"
        + "".join(f"{c}\t{len(s)}\t{c}\t{c[3:]}\t.\t{c[3:]}\n" for c, s in seqs.items())
    )
    return fa, seqs


def write_peaks(path: Path, rows: list[tuple]) -> Path:
    lines = [f"{c}\t{s}\t{e}\t.\t500\t.\t{sig}\t{p}\t2.0\t{off}\n" for c, s, e, sig, p, off in rows]
    with gzip.open(path, "wt") as fh:
        fh.writelines(lines)
    return path


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tfbs")
    fa, seqs = make_genome(tmp)
    return fa, tmp / "contigs.tsv", seqs


def test_summit_windows_dedupe_and_topn(genome, tmp_path):
    fa, contigs, seqs = genome
    rows = [
        ("chr1", 1000, 1400, 50.0, -1, 200),  # summit 1200, pValue -1
        ("chr1", 1000, 1400, 20.0, 12.5, 200),  # same summit, weaker: duplicate
        ("chr1", 1000, 1400, 30.0, 12.5, 100),  # same interval, other summit: kept
        ("1", 5000, 5300, 40.0, 3.0, -1),  # Ensembl-style name, no summit -> midpoint 5150
        ("chrEBV", 10, 300, 99.0, 3.0, 50),  # not in genome
        ("chr2", 30_500, 30_700, 45.0, 3.0, 100),  # window hits the N gap
        ("chrX", 19_980, 19_999, 10.0, 3.0, 10),  # window leaves the contig
    ]
    path = write_peaks(tmp_path / "p.narrowPeak.gz", rows)
    peaks = tfbs.read_narrowpeak(path)
    g = Genome(fa, contigs)
    exs, st = tfbs.peak_examples(peaks, g, flank=50, top_n=None)
    assert [e.source_id for e in exs] == ["peak:chr1:1200", "peak:chr1:5150", "peak:chr1:1100"]
    assert st == {
        "peaks": 7,
        "duplicate_summit": 1,
        "unknown_contig": 1,
        "out_of_bounds": 1,
        "has_n": 1,
        "positives": 3,
    }
    e = exs[0]
    assert (e.start, e.end, len(e.sequence)) == (1150, 1251, 101)
    assert e.sequence == seqs["chr1"][1150:1251]
    top, _ = tfbs.peak_examples(peaks, g, flank=50, top_n=2)
    assert [x.source_id for x in top] == ["peak:chr1:1200", "peak:chr1:5150"]
    with pytest.raises(ValueError, match=r"p.narrowPeak.gz:5: contig 'chrEBV'"):
        tfbs.peak_examples(peaks, g, unknown_contigs="error", source=path)


def test_normalize_peaks_renames(genome, tmp_path):
    fa, contigs, _ = genome
    src = write_peaks(
        tmp_path / "a.narrowPeak.gz", [("1", 10, 200, 5.0, -1, 20), ("chrEBV", 1, 90, 4.0, 1, 5)]
    )
    out = tmp_path / "out" / "a.narrowPeak.gz"
    st = tfbs.normalize_peaks(src, out, fa, contigs)
    assert st == {"lines": 2, "renamed": 1, "unknown_contig": 1}
    assert gzip.open(out, "rt").read().splitlines()[0].startswith("chr1\t10\t200")
    assert out.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0


def test_bad_peak_files(tmp_path):
    empty = tmp_path / "empty.narrowPeak"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.narrowPeak: no peaks"):
        tfbs.read_narrowpeak(empty)
    bad = tmp_path / "bad.narrowPeak"
    bad.write_text("chr1\t1\t100\t.\t0\t.\t1\t-1\t1\t10\nchr1\t1\t100\t.\t0\t.\tx\t-1\t1\t10\n")
    with pytest.raises(ValueError, match="bad.narrowPeak:2: non-numeric"):
        tfbs.read_narrowpeak(bad)
    bad.write_text("chr1\t1\t100\t.\t0\t.\t1\n")
    with pytest.raises(ValueError, match="bad.narrowPeak:1: narrowPeak needs 10"):
        tfbs.read_narrowpeak(bad)


@pytest.mark.parametrize("signal", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_signal_value_names_file_and_line(genome, tmp_path, signal):
    fa, contigs, _ = genome
    src = tmp_path / "nf.narrowPeak"
    src.write_text(
        "chr1\t10\t200\t.\t500\t.\t5.0\t-1\t2.0\t20\n"
        f"chr1\t300\t400\t.\t500\t.\t{signal}\t-1\t2.0\t20\n"
    )
    with pytest.raises(
        ValueError, match=rf"^{src}:2: signalValue '{signal}' is not a finite number"
    ):
        tfbs.read_narrowpeak(src)
    out = tmp_path / "out" / "nf.narrowPeak.gz"
    with pytest.raises(ValueError, match=rf"^{src}:2: signalValue"):
        tfbs.normalize_peaks(src, out, fa, contigs)
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_truncated_gzip_peaks_name_the_file(genome, tmp_path):
    fa, contigs, _ = genome
    src = tmp_path / "t.narrowPeak.gz"
    rows = [("chr1", 10 + i, 200 + i, 5.0, -1, 20) for i in range(3000)]
    write_peaks(src, rows)
    src.write_bytes(src.read_bytes()[:-30])
    out = tmp_path / "out" / "t.narrowPeak.gz"
    with pytest.raises(ValueError, match=rf"^{src}: truncated or corrupt gzip stream"):
        tfbs.normalize_peaks(src, out, fa, contigs)
    assert not out.exists()
