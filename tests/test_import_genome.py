"""Imported datasets against their genome: sequence check at the coordinates, and the BED."""

from pathlib import Path

import numpy as np
import pytest
from dnalm import datasets
from dnalm.importers import read_fasta_labels, read_gue_csv, write_bed
from dnalm.kmers import seq2kmer
from dnalm.seq import revcomp

SPLITS = {"train": 0.8, "dev": 0.1, "test": 0.1, "seed": 1}
W = 30


def _genome(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(7)
    chroms = {"chr1": "".join(rng.choice(list("ACGT"), 30_000)),
              "chr2": "".join(rng.choice(list("ACGT"), 5_000))}  # fmt: skip
    fa = tmp_path / "genome.fa"
    fa.write_text("".join(f">{c}\n{s}\n" for c, s in chroms.items()))
    return fa, chroms


def _rows(chroms: dict[str, str], n: int = 20) -> list[tuple[str, int, str, str]]:
    """(chrom, start, strand, sequence read on that strand), BED-style 0-based starts."""
    out = []
    for i in range(n):
        c = "chr1" if i % 3 else "chr2"
        a, strand = 100 + 211 * i, "+-"[i % 2]
        s = chroms[c][a : a + W]
        out.append((c, a, strand, revcomp(s) if strand == "-" else s))
    return out


def _tsv(path: Path, rows, edit=None) -> Path:
    lines = ["sequence\tlabel\tchrom\tstart\tend\tstrand"]
    for i, (c, a, strand, s) in enumerate(rows):
        if edit is not None:
            c, a, strand, s = edit(i + 2, c, a, strand, s)
        lines.append(f"{seq2kmer(s, 6)}\t{i % 2}\t{c}\t{a}\t{a + len(s)}\t{strand}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _build(tmp_path: Path, src: Path, fa: Path, name: str = "out") -> tuple[dict, dict]:
    outs = {s: tmp_path / name / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / name / "card.json"
    spec = {"kind": "imported", "format": "dnabert_tsv", "path": str(src), "genome": "g"}
    card = datasets.build_dataset("imp", spec, {"path": src, "fasta": fa}, outs, SPLITS,
                                  verbose=False)  # fmt: skip
    return card, outs


def _flip(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base]


def test_rows_matching_the_genome_pass_on_both_strands_and_n_is_not_a_mismatch(tmp_path):
    fa, chroms = _genome(tmp_path)
    rows = _rows(chroms)
    masked = lambda ln, c, a, st, s: (c, a, st, ("N" + s[1:]) if ln == 4 else s)  # noqa: E731
    card, outs = _build(tmp_path, _tsv(tmp_path / "imp.tsv", rows, masked), fa)
    assert card["stats"]["with_coordinates"] == len(rows)
    assert any(s["role"] == "genome_fai" for s in card["sources"])  # the genome is on the card
    n = write_bed({s: outs[s] for s in ("train", "dev", "test")}, tmp_path / "regions.bed")
    assert n == len(rows)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda ln, c, a, st, s: (c, a, st, s[:5] + _flip(s[5]) + s[6:]) if ln == 9 else (c, a, st, s),
         r"imp.tsv:9: sequence differs from the genome at chr\d:\d+-\d+\([+-]\) in 1 of 30 bases, "
         r"first at offset 5"),
        (lambda ln, c, a, st, s: (c, a + 1, st, s) if ln == 6 else (c, a, st, s),
         r"imp.tsv:6: sequence differs .* it matches at chr1:\d+-\d+, so the start looks 1-based"),
        (lambda ln, c, a, st, s: (c, a, "+" if st == "-" else "-", s) if ln == 3 else (c, a, st, s),
         r"imp.tsv:3: sequence differs from the genome at chr1:\d+-\d+\(\+\)"),
        (lambda ln, c, a, st, s: ("chrZ", a, st, s) if ln == 5 else (c, a, st, s),
         r"imp.tsv:5: chrom 'chrZ' is not a contig of the genome"),
        (lambda ln, c, a, st, s: ("chr2", 4990, st, s) if ln == 7 else (c, a, st, s),
         r"imp.tsv:7: chr2:4990-5020 leaves contig 'chr2' \(length 5000\)"),
    ],
    ids=["base", "one_based", "strand", "chrom", "off_contig"],
)
def test_genome_mismatch_names_file_line_and_writes_nothing(tmp_path, edit, message):
    fa, chroms = _genome(tmp_path)
    src = _tsv(tmp_path / "imp.tsv", _rows(chroms), edit)
    with pytest.raises(ValueError, match=message):
        _build(tmp_path, src, fa)
    assert not (tmp_path / "out").exists()


def test_without_the_genome_input_rows_are_not_checked(tmp_path):
    """A direct call without ``fasta`` (no genome at hand) keeps the old behaviour."""
    fa, chroms = _genome(tmp_path)
    src = _tsv(tmp_path / "imp.tsv", _rows(chroms), lambda ln, c, a, st, s: ("chrZ", a, st, s))
    outs = {s: tmp_path / "o" / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / "o" / "card.json"
    spec = {"kind": "imported", "format": "dnabert_tsv", "path": str(src)}
    card = datasets.build_dataset("imp", spec, {"path": src}, outs, SPLITS, verbose=False)
    assert card["stats"]["with_coordinates"] == 20


def test_contig_alias_is_renamed_to_the_genome_name(tmp_path):
    fa, chroms = _genome(tmp_path)
    contigs = tmp_path / "contigs.tsv"
    contigs.write_text("name\tlength\tucsc\tensembl\trefseq\taliases\n"
                       "chr1\t30000\tchr1\t1\tNC_000001.11\t.\nchr2\t5000\tchr2\t2\t.\t.\n")
    rows = [(c.removeprefix("chr"), a, st, s) for c, a, st, s in _rows(chroms, 6)]
    src = _tsv(tmp_path / "imp.tsv", rows)
    from dnalm.fasta import Genome
    from dnalm.importers import read_dnabert_tsv

    with Genome(fa, contigs) as g:
        exs = read_dnabert_tsv(src, genome=g)
    assert {e.contig for e in exs} == {"chr1", "chr2"}


def test_gue_csv_and_fasta_labels_are_checked_too(tmp_path):
    fa, chroms = _genome(tmp_path)
    from dnalm.fasta import Genome

    rows = _rows(chroms, 6)
    gue = tmp_path / "gue"
    gue.mkdir()
    for split in ("train", "dev", "test"):
        body = "".join(f"{s},{i % 2},{c},{a},{a + W},{st}\n" for i, (c, a, st, s) in enumerate(rows))
        (gue / f"{split}.csv").write_text("sequence,label,chrom,start,end,strand\n" + body)
    with Genome(fa) as g:
        assert len(read_gue_csv(gue, genome=g)["dev"]) == 6
        c, a, st, s = rows[2]
        bad = s[:-1] + _flip(s[-1])
        (gue / "dev.csv").write_text("sequence,label,chrom,start,end,strand\n"
                                     f"{bad},0,{c},{a},{a + W},{st}\n")  # fmt: skip
        with pytest.raises(ValueError, match=r"dev.csv:2: sequence differs .* first at offset 29"):
            read_gue_csv(gue, genome=g)
        # FASTA + label table: the coordinates' line in the table is named
        recs = tmp_path / "r.fa"
        recs.write_text("".join(f">r{i}\n{s}\n" for i, (_, _, _, s) in enumerate(rows)))
        lab = tmp_path / "labels.tsv"
        table = [f"r{i}\t{i % 2}\t{c}\t{a + (i == 4)}\t{a + W + (i == 4)}\t{st}"
                 for i, (c, a, st, _) in enumerate(rows)]  # fmt: skip
        lab.write_text("id\tlabel\tchrom\tstart\tend\tstrand\n" + "\n".join(table) + "\n")
        with pytest.raises(ValueError, match=r"labels.tsv:6: sequence differs"):
            read_fasta_labels(recs, lab, genome=g)


def test_bed_is_sorted_bed6_and_skips_rows_without_coordinates(tmp_path):
    fa, chroms = _genome(tmp_path)
    rows = _rows(chroms)
    src = tmp_path / "imp.tsv"
    _tsv(src, rows)
    text = src.read_text().splitlines()
    text[3] = "\t".join(text[3].split("\t")[:2] + ["."] * 4)  # file line 4: no coordinates
    src.write_text("\n".join(text) + "\n")
    outs = {s: tmp_path / "o" / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / "o" / "card.json"
    spec = {"kind": "imported", "format": "dnabert_tsv", "path": str(src)}
    datasets.build_dataset("imp", spec, {"path": src, "fasta": fa}, outs, SPLITS, verbose=False)
    bed = tmp_path / "regions.bed"
    n = write_bed({s: outs[s] for s in ("train", "dev", "test")}, bed)
    lines = [ln.split("\t") for ln in bed.read_text().splitlines()]
    assert n == len(lines) == len(rows) - 1
    assert all(len(f) == 6 for f in lines)
    keys = [(f[0], int(f[1]), int(f[2])) for f in lines]
    assert keys == sorted(keys)
    by_name = {f[3].split("|", 2)[2]: f for f in lines}
    assert "imp.tsv:4" not in by_name
    f = by_name["imp.tsv:3"]  # rows[1]: chr1, start 311, minus strand, label 1
    assert f[3].split("|")[0] in ("train", "dev", "test") and f[3].split("|")[1] == "1"
    assert (f[0], f[1], f[2], f[5]) == ("chr1", "311", "341", "-")
    # the BED region, read on its strand, is the row's sequence
    assert revcomp(chroms["chr1"][311:341]) == rows[1][3]


def test_imported_task_plans_its_bed_and_takes_the_genome_as_input():
    import yaml
    from dnalm import paths as P
    from dnalm.settings import load_config

    raw = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())
    raw["tasks"]["imp"] = {"kind": "imported", "format": "dnabert_tsv",
                           "path": "resources/imp/imp.tsv", "genome": "demo_hs"}  # fmt: skip
    raw["tasks"]["imp_nog"] = {"kind": "imported", "format": "dnabert_tsv",
                               "path": "resources/imp/imp.tsv"}  # fmt: skip
    cfg = load_config(raw)
    assert P.dataset_inputs(cfg, "imp")["fasta"] == P.genome_files("demo_hs")["fasta"]
    assert "fasta" not in P.dataset_inputs(cfg, "imp_nog")
    outs = P.final_outputs(cfg)
    assert "results/datasets/imp/regions.bed" in outs
    assert "results/datasets/imp_nog/regions.bed" in outs
    assert "results/datasets/tf_ctcf/regions.bed" not in outs


def test_docs_list_every_unpinned_production_source():
    """docs/datasets.md names each `checksum: none` source of hg38.yaml and mm10.yaml, and no other."""
    import re

    import yaml
    from dnalm.settings import load_config
    from dnalm.settings.checks import unverified

    repo = Path(__file__).parents[1]
    raw = yaml.safe_load((repo / "config/hg38.yaml").read_text())
    hg38 = {k for k, _ in unverified(load_config(raw))}
    for key, val in yaml.safe_load((repo / "config/mm10.yaml").read_text()).items():
        raw[key] = {**raw[key], **val} if isinstance(val, dict) and isinstance(raw.get(key), dict) else val
    both = {k for k, _ in unverified(load_config(raw))}
    mm10 = both - hg38 | {k for k in both if k.startswith("motifs.")}
    text = (repo / "docs/datasets.md").read_text()
    rows = re.findall(r"^\| (hg38|mm10) \| `([^`]+)`", text, re.M)
    assert {k for c, k in rows if c == "hg38"} == hg38
    assert {k for c, k in rows if c == "mm10"} == mm10
    clinvar = raw["annotations"]["hg38"]["clinvar"]["url"]
    assert re.search(r"/clinvar_\d{8}\.vcf\.gz$", clinvar), clinvar  # a dated release, not "latest"
