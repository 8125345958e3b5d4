"""dnalm.genome.prepare_genome: compression sniffing, validation, selection, BGZF + indexes."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pyfaidx
import pysam
import pytest
from dnalm import genome as G
from dnalm.contigs import ContigMap
from dnalm.genome import prepare_genome, sniff_compression

REPORT = Path(__file__).parent / "data" / "assembly_report_toy.txt"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_CHR2 = SHARED / "data" / "real" / "hg38_chr2_1-2333275.fa.gz"

# Toy genome whose lengths agree with the toy assembly report (chr1 120, chr2 90, chrX 75, chrM 33).
SEQS = {
    "chr1": "NNNNNNNNNN" + "ACGTacgtTTGGccaa" * 6 + "RYKMacgtACGTAC",
    "chr2": "acgt" * 5 + "ACGT" * 5 + "NnNn" + "GGCCAATT" * 5 + "ACGATC",
    "chrUn_KI270742v1": "ACGT" * 5,
    "chrX": "T" * 40 + "c" * 35,
    "chrM": "GATCACAGGTCTATCACCCTATTAACCACTCAC",
}
KEEP = r"chr([0-9]+|X|Y|M)"
# IUPAC ambiguity codes are written as N: the dataset builders drop windows with N, and an R they
# let through was refused only at fine-tuning, naming the dataset file instead of the genome.
EXPECTED = {n: s.replace("RYKM", "NNNN") for n, s in SEQS.items() if n != "chrUn_KI270742v1"}


def _fasta_text(seqs=SEQS, width=50, descriptions=True) -> str:
    out = []
    for name, seq in seqs.items():
        out.append(f">{name} some description" if descriptions else f">{name}")
        out += [seq[i : i + width] for i in range(0, len(seq), width)]
    return "\n".join(out) + "\n"


def _write(path: Path, text: str | bytes, kind: str) -> Path:
    data = text.encode() if isinstance(text, str) else text
    if kind == "plain":
        path.write_bytes(data)
    elif kind == "gzip":
        path.write_bytes(gzip.compress(data))
    elif kind == "bgzf":
        with pysam.BGZFile(str(path), "wb") as fh:
            fh.write(data)
    return path


def _no_debris(out_dir: Path) -> None:
    """Nothing of the genome is left in out_dir, and no temp dir next to it."""
    assert not out_dir.exists() or not any(out_dir.iterdir())
    assert [p.name for p in out_dir.parent.iterdir() if p.name.startswith(".")] == []


def _check_with_pyfaidx(out: Path) -> None:
    """pyfaidx (an independent reader) agrees with our .fai and, where it can, our .gzi."""
    # Our .fai against the decompressed bytes: offsets/line widths must be exact.
    plain = out.parent / "plain.fa"
    plain.write_bytes(gzip.decompress((out / G.FASTA).read_bytes()))
    plain.with_name("plain.fa.fai").write_bytes((out / G.FAI).read_bytes())
    with pyfaidx.Fasta(str(plain), sequence_always_upper=False, rebuild=False) as fa:
        assert {k: str(v[:]) for k, v in fa.items()} == EXPECTED
        assert str(fa["chr2"][0:8]) == "acgtacgt"
    plain.unlink()
    plain.with_name("plain.fa.fai").unlink()
    try:  # pyfaidx reads BGZF (.gzi) only through Biopython's Bio.bgzf
        import Bio.bgzf  # noqa: F401
    except ImportError:
        return
    with pyfaidx.Fasta(str(out / G.FASTA), sequence_always_upper=False, rebuild=False) as fa:
        assert {k: str(v[:]) for k, v in fa.items()} == EXPECTED


# Misleading names on purpose: the format is sniffed from magic bytes, not the extension.
@pytest.mark.parametrize("kind, fname", [("plain", "g.fa.gz"), ("gzip", "g.fa"), ("bgzf", "g.txt")])
def test_prepare_genome_formats(tmp_path, kind, fname, caplog):
    src = _write(tmp_path / fname, _fasta_text(), kind)
    assert sniff_compression(src) == kind
    out = tmp_path / "genomes" / "toy"
    table = prepare_genome(src, out, KEEP, verbose=False)
    assert "4 IUPAC ambiguity codes (R, Y, K, M, ...) written as N" in caplog.text

    assert [r.name for r in table] == list(EXPECTED)
    assert sorted(p.name for p in out.iterdir()) == sorted(G.OUTPUTS)
    assert sniff_compression(out / G.FASTA) == "bgzf"
    with pysam.FastaFile(str(out / G.FASTA)) as fa:
        assert list(fa.references) == list(EXPECTED)
        for name, seq in EXPECTED.items():
            assert fa.fetch(name) == seq  # soft-masking (case) preserved
        assert fa.fetch("chr1", 10, 14) == "ACGT"
    _check_with_pyfaidx(out)
    with gzip.open(out / G.FASTA, "rt") as fh:
        lines = fh.read().splitlines()
    assert lines[0] == ">chr1"  # description dropped: name only
    assert max(len(x) for x in lines if not x.startswith(">")) == 60
    sizes = (out / G.SIZES).read_text().splitlines()
    assert sizes == [f"{n}\t{len(s)}" for n, s in EXPECTED.items()]
    cmap = ContigMap.from_tsv(out / G.CONTIGS)
    assert cmap.names == list(EXPECTED)
    assert cmap.canonical("MT") == "chrM" and cmap.canonical("1") == "chr1"
    assert cmap.canonical("chrUn_KI270742v1") is None
    assert [p.name for p in out.parent.iterdir()] == ["toy"]


def test_regex_selection_and_other_files_kept(tmp_path):
    src = _write(tmp_path / "g.fa", _fasta_text(), "plain")
    out = tmp_path / "g"
    out.mkdir()
    (out / "raw.fa").write_text("keep me")
    table = prepare_genome(src, out, r"chr[0-9]+", verbose=False)
    assert [r.name for r in table] == ["chr1", "chr2"]
    assert (out / "raw.fa").read_text() == "keep me"
    # fullmatch: "chr1" alone must not select "chrUn_KI270742v1" via a prefix.
    table = prepare_genome(src, out, r"chrUn_.*|chrM", verbose=False)
    assert [r.name for r in table] == ["chrUn_KI270742v1", "chrM"]
    assert (out / G.SIZES).read_text() == "chrUn_KI270742v1\t20\nchrM\t33\n"


def test_assembly_report_gives_refseq_names(tmp_path):
    src = _write(tmp_path / "g.fa.gz", _fasta_text(), "gzip")
    out = tmp_path / "g"
    prepare_genome(src, out, KEEP, assembly_report=REPORT, verbose=False)
    cmap = ContigMap.from_tsv(out / G.CONTIGS)
    assert cmap.canonical("NC_000001.11") == "chr1"
    assert cmap.canonical("NC_000023.11") == "chrX"
    assert cmap.canonical("NC_012920.1") == "chrM"
    assert cmap.canonical("2") == "chr2"


@pytest.mark.parametrize("flush, read", [(7, 5), (61, 64), (1 << 20, 1 << 20)])
def test_chunking_and_long_lines_do_not_change_output(tmp_path, monkeypatch, flush, read):
    monkeypatch.setattr(G, "_FLUSH_BYTES", flush)
    monkeypatch.setattr(G, "_READ_BUFFER", read)
    # One contig on a single line, one with odd line widths, CRLF endings.
    text = (
        ">chr1\r\n"
        + SEQS["chr1"]
        + "\r\n>chr2 x\r\n"
        + _fasta_text({"c": SEQS["chr2"]}, 7, descriptions=False)[3:]
    )
    src = _write(tmp_path / "g.fa", text.replace("\n", "\r\n").replace("\r\r", "\r"), "gzip")
    out = tmp_path / "g"
    prepare_genome(src, out, r".*", verbose=False)
    with pysam.FastaFile(str(out / G.FASTA)) as fa:
        assert fa.fetch("chr1") == EXPECTED["chr1"]
        assert fa.fetch("chr2") == EXPECTED["chr2"]


def _peak_memory(tmp_path: Path, n: int) -> int:
    """Peak Python allocation while preparing one n-bp contig written on a single line."""
    src = tmp_path / f"big{n}.fa"
    with open(src, "wb") as fh:
        fh.write(b">chrBig\n")
        for _ in range(n // 1_000_000):
            fh.write(b"ACGTacgtNN" * 100_000)
        fh.write(b"\n")
    tracemalloc.start()
    try:
        prepare_genome(src, tmp_path / f"g{n}", r".*", verbose=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / f"g{n}" / G.SIZES).read_text() == f"chrBig\t{n}\n"
    return peak


def test_memory_stays_flat_on_a_long_single_line_contig(tmp_path):
    small, big = _peak_memory(tmp_path, 4_000_000), _peak_memory(tmp_path, 16_000_000)
    assert big < 1.25 * small, f"peak grows with contig size: {small} -> {big} bytes"
    assert big < 10 * 2**20  # a few 1-MiB buffers, not the 16-MB contig


@pytest.mark.parametrize("kind", ["plain", "gzip"])
def test_sequence_before_header(tmp_path, kind):
    src = _write(tmp_path / "nohead.fa", "\nACGT\n>chr1\nACGT\n", kind)
    with pytest.raises(ValueError, match=r"nohead\.fa:2: sequence before first '>' header"):
        prepare_genome(src, tmp_path / "g", r".*", verbose=False)
    _no_debris(tmp_path / "g")


@pytest.mark.parametrize(
    "line, char, col",
    [("ACGTXACGT", "X", 5), ("acg tacg", " ", 4), ("ACGT-N", "-", 5), ("AC*", "*", 3)],
)
def test_illegal_characters(tmp_path, line, char, col):
    src = _write(tmp_path / "bad.fa", f">chr1\nACGT\n>chr2\nACGTACGT\n{line}\n", "bgzf")
    with pytest.raises(ValueError) as err:
        prepare_genome(src, tmp_path / "g", r".*", verbose=False)
    assert str(err.value).startswith(f"{src}:5: illegal character {char!r} at column {col}")
    _no_debris(tmp_path / "g")


def test_illegal_character_in_a_dropped_contig_is_still_reported(tmp_path):
    src = _write(tmp_path / "bad.fa", ">chr1\nACGT\n>junk\nAC#GT\n", "plain")
    with pytest.raises(ValueError, match=r"bad\.fa:4: illegal character '#'"):
        prepare_genome(src, tmp_path / "g", r"chr1", verbose=False)


@pytest.mark.parametrize("kind", ["plain", "gzip", "bgzf"])
def test_empty_file(tmp_path, kind):
    src = _write(tmp_path / "empty.fa", b"" if kind == "plain" else b"\n\n", kind)
    with pytest.raises(ValueError, match=r"empty\.fa: empty file"):
        prepare_genome(src, tmp_path / "g", r".*", verbose=False)
    _no_debris(tmp_path / "g")


def test_no_contig_matches_regex(tmp_path):
    src = _write(tmp_path / "g.fa", _fasta_text(), "plain")
    with pytest.raises(ValueError) as err:
        prepare_genome(src, tmp_path / "g", r"^chr([0-9]+)_alt$", verbose=False)
    msg = str(err.value)
    assert str(src) in msg and "^chr([0-9]+)_alt$" in msg and "chr1, chr2, chrUn_KI270742v1" in msg
    _no_debris(tmp_path / "g")


@pytest.mark.parametrize("kind", ["gzip", "bgzf"])
def test_truncated_gzip(tmp_path, kind):
    whole = _write(tmp_path / "whole.fa.gz", _fasta_text(width=10) * 3, kind).read_bytes()
    src = tmp_path / "cut.fa.gz"
    src.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(
        ValueError, match=r"cut\.fa\.gz: truncated or corrupt gzip stream after line \d+"
    ):
        prepare_genome(src, tmp_path / "g", r".*", verbose=False)
    _no_debris(tmp_path / "g")


def test_duplicate_names(tmp_path):
    src = _write(tmp_path / "dup.fa", ">chr1\nACGT\n>chr2\nAA\n>chr1 again\nCC\n", "gzip")
    with pytest.raises(
        ValueError, match=r"dup\.fa:5: duplicate contig name 'chr1' \(first seen at line 1\)"
    ):
        prepare_genome(src, tmp_path / "g", r".*", verbose=False)
    _no_debris(tmp_path / "g")


def test_other_bad_inputs(tmp_path):
    src = _write(tmp_path / "e.fa", ">chr1\n>chr2\nAC\n", "plain")
    with pytest.raises(ValueError, match=r"e\.fa:1: contig 'chr1' has no sequence"):
        prepare_genome(src, tmp_path / "g", r".*", verbose=False)
    src = _write(tmp_path / "n.fa", ">\nAC\n", "plain")
    with pytest.raises(ValueError, match=r"n\.fa:1: empty contig name"):
        prepare_genome(src, tmp_path / "g", r".*", verbose=False)
    src = _write(tmp_path / "z.fa", b"BZh91AY&SY", "plain")
    with pytest.raises(ValueError, match=r"z\.fa: bzip2-compressed"):
        prepare_genome(src, tmp_path / "g", r".*", verbose=False)
    with pytest.raises(ValueError, match="contig_regex"):
        prepare_genome(src, tmp_path / "g", r"chr(", verbose=False)
    _no_debris(tmp_path / "g")


def test_failure_keeps_a_previous_genome(tmp_path):
    good = _write(tmp_path / "good.fa", _fasta_text(), "plain")
    out = tmp_path / "g"
    prepare_genome(good, out, KEEP, verbose=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = _write(tmp_path / "bad.fa", ">chr1\nACGT\n>chr1\nAC\n", "plain")
    with pytest.raises(ValueError, match="duplicate"):
        prepare_genome(bad, out, KEEP, verbose=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_real_hg38_chr2_piece(tmp_path):
    if not REAL_CHR2.exists():
        pytest.skip(f"real data not available ({REAL_CHR2} is absent outside the dev workspace)")
    assert sniff_compression(REAL_CHR2) == "bgzf"
    out = tmp_path / "hg38"
    table = prepare_genome(REAL_CHR2, out, r"^chr([0-9]+|X|Y)$", verbose=False)
    with gzip.open(REAL_CHR2, "rt") as fh:
        original = "".join(line.strip() for line in fh if not line.startswith(">"))
    assert len(original) == 2_333_275
    assert [(r.name, r.length, r.ensembl) for r in table] == [("chr2", 2_333_275, "2")]
    assert (out / G.SIZES).read_text() == "chr2\t2333275\n"
    with pysam.FastaFile(str(out / G.FASTA)) as fa:
        seq = fa.fetch("chr2")
        assert seq == original
        assert fa.fetch("chr2", 0, 10_000) == "N" * 10_000
        assert fa.fetch("chr2", 1_000_000, 1_000_060) == original[1_000_000:1_000_060]
    masked = sum(c.islower() for c in seq)
    assert 0.2 < masked / len(seq) < 0.6  # soft-masked repeats kept


def test_snakemake_genome_rules(tmp_path):
    """genome_download -> genome_assembly_report -> checkpoint genome_prepare, run by Snakemake."""
    repo = Path(__file__).resolve().parents[1]
    for name in ("Snakefile", "workflow"):
        (tmp_path / name).symlink_to(repo / name)
    (tmp_path / "config").mkdir()
    data = gzip.compress(_fasta_text().encode())
    (tmp_path / "toy.fa.gz").write_bytes(data)
    md5 = hashlib.md5(data).hexdigest()
    (tmp_path / "config" / "config.yaml").write_text(
        "genomes:\n"
        "  toy:\n"
        f"    fasta: {{url: 'toy.fa.gz', md5: '{md5}'}}\n"
        f"    assembly_report: {{url: '{REPORT.as_uri()}'}}\n"
        f"    contigs: '{KEEP}'\n"
    )
    target = "resources/genomes/toy/contigs.tsv"
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", target],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "resources" / "genomes" / "toy"
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted(
        [*G.OUTPUTS, "assembly_report.txt"]
    )
    assert not (out / "download" / "genome.fasta.raw").exists()  # temp() removed
    assert ContigMap.from_tsv(out / G.CONTIGS).canonical("NC_000023.11") == "chrX"
    assert (tmp_path / "logs" / "genome_prepare" / "toy.log").exists()


def test_an_error_in_the_downloaded_genome_names_its_config_key(tmp_path):
    """genome_prepare reads the download under its temporary name: an error there named only
    resources/genomes/<g>/download/genome.fasta.raw, not what the user configured."""
    raw = tmp_path / "resources/genomes/hs/download/genome.fasta.raw"
    raw.parent.mkdir(parents=True)
    src = _write(raw, ">chr1\nACGT\nAC#GT\n", "gzip")
    with pytest.raises(ValueError) as err:
        prepare_genome(src, tmp_path / "resources/genomes/hs", r".*", verbose=False)
    msg = str(err.value)
    assert msg.startswith(f"{src}:3: illegal character '#'"), msg
    assert "download of config genomes.hs.fasta" in msg, msg
    other = _write(tmp_path / "mine.fa", ">chr1\nACGT\nAC#GT\n", "plain")  # not a download
    with pytest.raises(ValueError) as err:
        prepare_genome(other, tmp_path / "g", r".*", verbose=False)
    assert "download of config" not in str(err.value)
