"""Tests for dnalm.corpus: cutting rules, N handling, determinism, storage size, stats."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pysam
import pytest
from dnalm import corpus
from dnalm.corpus.build import _pass_rng
from dnalm.kmers import codes_to_ids, seq_to_codes

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REAL_CHR2 = SHARED / "data" / "real" / "hg38_chr2_1-2333275.fa.gz"
MIN, MAX = 10, 510


# --------------------------------------------------------------------------- helpers
def write_fasta(path: Path, records: dict[str, str], bgzip: bool = True) -> Path:
    """Write a bgzip (or plain) FASTA (60-bp lines) with .fai (and .gzi); return its path."""
    plain = path.with_suffix("") if bgzip else path
    with open(plain, "wb") as fh:
        for name, seq in records.items():
            fh.write(f">{name}\n".encode())
            raw = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
            full = raw.shape[0] // 60 * 60
            lines = np.concatenate(  # 60-bp lines, vectorised for multi-Mbp test genomes
                [raw[:full].reshape(-1, 60), np.full((full // 60, 1), ord("\n"), np.uint8)], 1
            )
            fh.write(lines.tobytes())
            if full < raw.shape[0]:
                fh.write(raw[full:].tobytes() + b"\n")
    if bgzip:
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()
    pysam.faidx(str(path))
    return path


def random_dna(rng: np.random.Generator, n: int, lower_share: float = 0.3) -> str:
    s = np.array(list("ACGT"))[rng.integers(0, 4, n)]
    low = rng.random(n) < lower_share
    s[low] = np.char.lower(s[low])
    return "".join(s)


def build(fasta, chrom, out: Path, **kw):
    out.mkdir(parents=True, exist_ok=True)
    seq, idx = out / f"{chrom}.seq.npy", out / f"{chrom}.idx.npy"
    meta = corpus.build_corpus_shard(fasta, chrom, seq, idx, **kw)
    return seq, idx, meta


def kept_segments(seq: str, min_len: int) -> list[str]:
    """Reference segmentation: upper-case, split at non-ACGT, keep segments >= min_len."""
    segs, cur = [], []
    for ch in seq.upper():
        if ch in "ACGT":
            cur.append(ch)
        else:
            segs.append("".join(cur))
            cur = []
    segs.append("".join(cur))
    return [s for s in segs if len(s) >= min_len]


def decode(codes: np.ndarray) -> str:
    return "".join("ATCG"[c] for c in codes)


def pass_bounds(idx: np.ndarray, kept_bp: int, coverage: int) -> list[np.ndarray]:
    """Split the idx rows by coverage pass (each pass stores exactly kept_bp bases)."""
    ends = idx[:, 0] + idx[:, 1]
    cuts = np.searchsorted(ends, [kept_bp * (p + 1) for p in range(coverage)], side="right")
    return np.split(idx, cuts[:-1])


def reference_cut(segments: list[int], rng: np.random.Generator, min_len: int, max_len: int):
    """Straightforward per-piece implementation of the documented cutting rule (one pass)."""
    offset = int(rng.integers(0, max_len))
    head = offset if offset >= min_len else 0
    out = []
    for n in segments:
        pieces, rest = [], n
        if head and rest > max_len and rest - head >= min_len:
            pieces.append(head)
            rest -= head
        while rest > max_len:
            coin, u = rng.random(), rng.random()
            length = (
                max_len
                if coin < 0.5
                else min_len + min(int(u * (max_len - min_len + 1)), max_len - min_len)
            )
            if rest - length < min_len:
                length = rest - min_len
            pieces.append(length)
            rest -= length
        pieces.append(rest)
        out.append(pieces)
    return out


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """Two chromosomes with N runs, IUPAC codes, soft-masking and segments of edge lengths."""
    rng = np.random.default_rng(5)
    d = tmp_path_factory.mktemp("genome")
    parts = [
        "N" * 37,
        random_dna(rng, 120_000),
        "NNNNN",
        random_dna(rng, MIN - 1),  # dropped: shorter than min_len
        "N",
        random_dna(rng, MIN),  # exactly min_len: one piece
        "R",  # IUPAC code splits like N
        random_dna(rng, MAX),  # exactly max_len: one piece, no head
        "n" * 3,
        random_dna(rng, MAX + 1),
        "NY",
        random_dna(rng, MAX + MIN - 1),
        "N" * 700,
        random_dna(rng, 61_234),
        "N" * 12,
    ]
    chr1 = "".join(parts)
    chr2 = random_dna(rng, 30_000) + "N" * 2500 + random_dna(rng, 4_321)
    fasta = write_fasta(d / "genome.fa.gz", {"chr1": chr1, "chr2": chr2})
    return fasta, {"chr1": chr1, "chr2": chr2}


# --------------------------------------------------------------------------- cutting rules
@pytest.mark.parametrize("chunk_size", [1 << 20, 997])
def test_single_pass_reconstructs_kept_genome(genome, tmp_path, chunk_size):
    fasta, recs = genome
    seq_p, _, meta = build(fasta, "chr1", tmp_path, coverage=1, chunk_size=chunk_size)
    shard = corpus.open_shard(seq_p)
    segs = kept_segments(recs["chr1"], MIN)
    # no N, and all pieces joined give the N-free genome exactly (lower case upper-cased)
    assert shard.seq.max() <= 3
    assert decode(shard.seq) == "".join(segs)
    # pieces never cross a segment boundary
    seg_ends = set(np.cumsum([len(s) for s in segs]).tolist())
    piece_ends = set((shard.idx[:, 0] + shard.idx[:, 1]).tolist())
    assert seg_ends <= piece_ends
    assert np.array_equal(shard.idx[1:, 0], shard.idx[:-1, 0] + shard.idx[:-1, 1])
    lengths = shard.idx[:, 1]
    assert lengths.min() >= MIN and lengths.max() <= MAX
    assert meta["kept_bp"] == sum(map(len, segs)) == meta["stored_bp"]
    n_nonacgt = sum(ch.upper() not in "ACGT" for ch in recs["chr1"])
    assert meta["nonacgt_bp"] == n_nonacgt
    assert meta["short_segment_bp"] == MIN - 1
    assert meta["n_excluded_bp"] == n_nonacgt + MIN - 1
    assert meta["n_segments"] == 7


def test_matches_reference_cutter(genome, tmp_path):
    """Vectorised streaming cutter == a per-piece reference reading the same random stream."""
    fasta, recs = genome
    coverage = 3
    for chrom in ("chr1", "chr2"):
        seq_p, _, meta = build(fasta, chrom, tmp_path, coverage=coverage, chunk_size=4099)
        shard = corpus.open_shard(seq_p)
        seg_lens = [len(s) for s in kept_segments(recs[chrom], MIN)]
        passes = pass_bounds(np.asarray(shard.idx), meta["kept_bp"], coverage)
        for p, rows in enumerate(passes):
            ref = reference_cut(seg_lens, _pass_rng(1, chrom, p, 0), MIN, MAX)
            assert rows[:, 1].tolist() == [x for seg in ref for x in seg], (chrom, p)
            u = _pass_rng(1, chrom, p, 1).random(rows.shape[0])
            assert rows[:, 2].tolist() == (u < 0.01).astype(int).tolist()


def test_edge_length_segments(genome, tmp_path):
    """Segments of exactly min_len / max_len are single pieces; max_len + 1 is two pieces."""
    fasta, recs = genome
    seq_p, _, _ = build(fasta, "chr1", tmp_path, coverage=4)
    shard = corpus.open_shard(seq_p)
    stored = decode(shard.seq)
    segs = kept_segments(recs["chr1"], MIN)
    for target in (MIN, MAX):
        seg = next(s for s in segs if len(s) == target)
        hits = [decode(shard.seq[o : o + n]) for o, n, _ in shard.idx if n == target]
        assert hits.count(seg) == 4  # once per pass, never split
    # a max_len + 1 segment is always two pieces: a piece boundary falls strictly inside it
    seg = next(s for s in segs if len(s) == MAX + 1)
    starts = set(shard.idx[:, 0].tolist())
    pos = stored.find(seg)
    while pos >= 0:
        assert pos in starts and pos + len(seg) in starts | {len(stored)}
        assert any(pos < b < pos + len(seg) for b in starts)
        pos = stored.find(seg, pos + 1)


def test_full_length_share_and_uniform_lengths(tmp_path):
    rng = np.random.default_rng(2)
    fasta = write_fasta(tmp_path / "g.fa.gz", {"c": random_dna(rng, 2_000_000)})
    seq_p, _, meta = build(fasta, "c", tmp_path, coverage=1)
    idx = np.asarray(corpus.open_shard(seq_p).idx)
    decided = idx[1:-2, 1] if meta["offsets"][0] >= MIN else idx[:-2, 1]  # not head or tail
    full = decided == MAX
    # P(full) = 0.5 (coin) + 0.5 / 501 (uniform draw hitting max_len)
    p = 0.5 + 0.5 / (MAX - MIN + 1)
    sd = np.sqrt(p * (1 - p) / decided.size)
    assert abs(full.mean() - p) < 4 * sd
    rand = decided[~full]
    assert abs(rand.mean() - (MIN + MAX) / 2) < 4 * 145 / np.sqrt(rand.size)
    assert rand.min() < MIN + 25 and rand.max() > MAX - 25


def test_passes_differ_and_each_covers_genome(genome, tmp_path):
    fasta, recs = genome
    coverage = 3
    seq_p, _, meta = build(fasta, "chr1", tmp_path, coverage=coverage)
    shard = corpus.open_shard(seq_p)
    kept = "".join(kept_segments(recs["chr1"], MIN))
    assert meta["stored_bp"] == coverage * len(kept)
    passes = pass_bounds(np.asarray(shard.idx), meta["kept_bp"], coverage)
    bounds = []
    for p, rows in enumerate(passes):
        start = p * len(kept)
        assert decode(shard.seq[start : start + len(kept)]) == kept
        bounds.append(set((rows[:, 0] - start).tolist()))
    assert len(set(meta["offsets"])) == coverage
    for a in range(coverage):
        for b in range(a + 1, coverage):
            assert bounds[a] != bounds[b]
            assert len(bounds[a] & bounds[b]) < 0.2 * len(bounds[a])


def test_deterministic_bytes(genome, tmp_path):
    fasta, _ = genome
    a = build(fasta, "chr1", tmp_path / "a", coverage=2, seed=3)
    b = build(fasta, "chr1", tmp_path / "b", coverage=2, seed=3, chunk_size=3001)
    c = build(fasta, "chr1", tmp_path / "c", coverage=2, seed=4)
    for x, y in zip(a[:2], b[:2], strict=True):
        assert filecmp.cmp(x, y, shallow=False)
    assert not filecmp.cmp(a[1], c[1], shallow=False)
    ma = (tmp_path / "a" / "chr1.meta.json").read_bytes()
    assert ma == (tmp_path / "b" / "chr1.meta.json").read_bytes()
    # nothing but the three outputs is left in the directory
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "chr1.idx.npy",
        "chr1.meta.json",
        "chr1.seq.npy",
    ]


def test_bytes_per_bp_and_val_fraction(tmp_path):
    rng = np.random.default_rng(3)
    fasta = write_fasta(tmp_path / "g.fa.gz", {"c": random_dna(rng, 600_000)})
    seq_p, idx_p, meta = build(fasta, "c", tmp_path, coverage=2, val_fraction=0.1)
    size = seq_p.stat().st_size + idx_p.stat().st_size
    assert size / meta["stored_bp"] <= 1.2
    idx = np.asarray(corpus.open_shard(seq_p).idx)
    n = idx.shape[0]
    assert abs(idx[:, 2].mean() - 0.1) < 4 * np.sqrt(0.09 / n)
    assert meta["n_pieces"] == {"train": int((idx[:, 2] == 0).sum()), "val": int(idx[:, 2].sum())}
    _, _, meta0 = build(fasta, "c", tmp_path / "zero", coverage=1, val_fraction=0.0)
    assert meta0["n_pieces"]["val"] == 0


def test_iter_pieces_and_tokens(genome, tmp_path):
    fasta, _ = genome
    seq_p, _, _ = build(fasta, "chr2", tmp_path, coverage=2, val_fraction=0.2)
    shard = corpus.open_shard(seq_p)
    allp = list(corpus.iter_pieces(shard))
    tr = list(corpus.iter_pieces(shard, "train"))
    va = list(corpus.iter_pieces(shard, split=1))
    assert len(allp) == shard.idx.shape[0] == len(tr) + len(va) and va
    assert sum(len(x) for x in allp) == shard.seq.shape[0]
    ids = codes_to_ids(allp[0], 6)
    assert ids.shape == (len(allp[0]) - 5,) and ids.min() >= 5  # never [UNK]
    with pytest.raises(ValueError, match="split"):
        list(corpus.iter_pieces(shard, "test"))


# --------------------------------------------------------------------------- stats
def test_gather_stats(genome, tmp_path):
    fasta, recs = genome
    seqs, metas = [], {}
    for chrom in ("chr1", "chr2"):
        s, _, m = build(fasta, chrom, tmp_path / "shards", coverage=2)
        seqs.append(s)
        metas[chrom] = m
    out = tmp_path / "stats.json"
    stats = corpus.gather_stats(seqs, out, tmp_path / "length_hist.png")
    assert json.loads(out.read_text()) == stats
    assert (tmp_path / "length_hist.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stats["params"]["coverage"] == 2 and "k" not in stats["params"]
    assert set(stats["chromosomes"]) == {"chr1", "chr2"}
    for chrom, m in metas.items():
        c = stats["chromosomes"][chrom]
        assert c["stored_bp"] == m["stored_bp"] and c["excluded_bp"] == m["n_excluded_bp"]
        assert c["n_pieces_train"] + c["n_pieces_val"] == sum(m["n_pieces"].values())
        kept = "".join(kept_segments(recs[chrom], MIN))
        assert c["gc"] == pytest.approx((kept.count("G") + kept.count("C")) / len(kept))
        assert c["length_bp"] == len(recs[chrom])
    tot = stats["totals"]
    assert tot["nonacgt_bp"] == sum(m["nonacgt_bp"] for m in metas.values())
    hist = stats["length_histogram"]
    assert sum(hist["counts"]) == stats["n_pieces"] == tot["n_pieces_train"] + tot["n_pieces_val"]
    assert hist["edges"][0] == MIN and hist["edges"][-2:] == [MAX, MAX + 1]
    assert stats["full_length_share"] == pytest.approx(hist["counts"][-1] / stats["n_pieces"])
    assert 0.3 < stats["full_length_share"] < 0.7
    assert stats["tokens_per_full_piece"] == {str(k): MAX - k + 3 for k in (3, 4, 5, 6)}
    assert stats["bytes_per_stored_bp"] <= 1.2
    # shards with different parameters cannot be summarised together
    s3, _, _ = build(fasta, "chr2", tmp_path / "other", coverage=1)
    with pytest.raises(ValueError, match="differ"):
        corpus.gather_stats([seqs[0], s3], tmp_path / "bad.json")


def test_pretraining_reads_the_shards_of_stats_json_not_the_directory(genome, tmp_path):
    """Narrowing genomes.<g>.contigs rewrote stats.json without chr2 and retrained, but the
    trainer globbed shards/ and read chr2's old shard as well."""
    from dnalm.pretrain import pretrain
    from dnalm.pretrain.launch import run_rule

    fasta, _ = genome
    seqs = [build(fasta, c, tmp_path / "shards", coverage=2)[0] for c in ("chr1", "chr2")]
    out = tmp_path / "stats.json"
    corpus.gather_stats(seqs[:1], out)  # the config now keeps chr1 only; chr2's shard stays
    assert corpus.shards_of(out) == [tmp_path / "shards" / "chr1.seq.npy"]
    d = tmp_path / "lm"
    preset = {"steps": 1, "global_batch": 4, "lr": 1e-3, "val_batches": 1, "checkpoint_every": 100}

    class Rule:  # the attributes of Snakemake's `snakemake` object that run_rule reads
        resources = {"gpu": 0}
        input = type("I", (), {"stats": str(out)})
        output = type("O", (), {"model": str(d / "model"), "log_tsv": str(d / "log.tsv"),
                                "curves": str(d / "curves.png")})
        params = type("P", (), {"ckpt_dir": str(d / "ck"), "run": {
            "size": "tiny", "preset": preset, "preset_name": "t"}})
        threads = 1
        log = [str(d / "log")]

    run_rule(Rule, pretrain, "script.py", k=6)
    fp = json.loads((d / "model" / "training_fingerprint.json").read_text())
    assert list(fp["corpus"]) == ["chr1.seq.npy"]


# --------------------------------------------------------------------------- errors
def test_errors(genome, tmp_path):
    fasta, _ = genome
    out = tmp_path / "o"
    with pytest.raises(ValueError, match="no sequence named 'chrZ'"):
        build(fasta, "chrZ", out)
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(ValueError, match="not found"):
        build(tmp_path / "missing.fa.gz", "chr1", out)
    with pytest.raises(ValueError, match="min_len"):
        build(fasta, "chr1", out, min_len=0)
    with pytest.raises(ValueError, match="max_len"):
        build(fasta, "chr1", out, min_len=10, max_len=19)
    with pytest.raises(ValueError, match="val_fraction"):
        build(fasta, "chr1", out, val_fraction=1.5)
    with pytest.raises(ValueError, match="coverage"):
        build(fasta, "chr1", out, coverage=0)
    with pytest.raises(TypeError, match="'k'"):  # shards do not depend on k
        build(fasta, "chr1", out, k=6)
    seq_p, idx_p, _ = build(fasta, "chr2", out, coverage=1)
    idx_p.unlink()
    with pytest.raises(ValueError, match="chr2.idx.npy: shard file not found"):
        corpus.open_shard(seq_p)
    with pytest.raises(ValueError, match=r"\.seq\.npy"):
        corpus.open_shard(tmp_path / "x.npy")
    with pytest.raises(ValueError, match="meta.json"):
        corpus.gather_stats([tmp_path / "nope.seq.npy"], tmp_path / "s.json")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_bounded_memory(tmp_path):
    """Peak RSS does not grow with chromosome length (5 vs 25 Mbp, coverage 2)."""
    rng = np.random.default_rng(4)
    peaks = {}
    for mbp in (5, 25):
        fa = tmp_path / f"g{mbp}.fa"  # plain indexed FASTA: no compression time
        codes = rng.integers(0, 4, mbp * 1_000_000).astype(np.uint8)
        seq = np.frombuffer(b"ACGT", dtype=np.uint8)[codes].tobytes().decode()
        write_fasta(fa, {"c": seq}, bgzip=False)
        del codes, seq
        script = textwrap.dedent(f"""
            from dnalm import corpus
            corpus.build_corpus_shard({str(fa)!r}, "c", {str(tmp_path / "c.seq.npy")!r},
                                      {str(tmp_path / "c.idx.npy")!r}, coverage=2)
            # VmHWM, not ru_maxrss: the latter keeps the forked parent's size across exec
            status = open("/proc/self/status").read()
            print(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM")))
        """)
        res = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        peaks[mbp] = int(res.stdout.split()[-1]) / 1024  # MiB
    assert peaks[25] - peaks[5] < 10, peaks  # holding the bases would cost >= 20 MB


# --------------------------------------------------------------------------- real data
@pytest.mark.skipif(not REAL_CHR2.is_file(), reason=f"real data {REAL_CHR2} absent (../shared)")
def test_real_hg38_chr2_piece(tmp_path):
    seq_p, _, meta = build(REAL_CHR2, "chr2", tmp_path, coverage=1)
    genome_seq = pysam.FastaFile(str(REAL_CHR2)).fetch("chr2")
    assert genome_seq[:10_000] == "N" * 10_000 and any(c.islower() for c in genome_seq[:200_000])
    shard = corpus.open_shard(seq_p)
    kept = kept_segments(genome_seq, MIN)
    assert meta["nonacgt_bp"] == len(genome_seq) - sum(genome_seq.upper().count(b) for b in "ACGT")
    assert meta["nonacgt_bp"] >= 10_000
    assert np.array_equal(np.asarray(shard.seq), seq_to_codes("".join(kept)))
    assert shard.idx[:, 1].min() >= MIN and shard.idx[:, 1].max() <= MAX


# --------------------------------------------------------------------------- Snakemake


@pytest.mark.slow
def test_snakemake_demo_corpus(demo_dag):
    """The demo corpus as built through Snakemake by the shared demo run."""
    work = demo_dag.workdir
    target = "results/corpus/demo_hs/stats.json"
    stats = json.loads((work / target).read_text())
    sizes = (work / "resources/genomes/demo_hs/chrom.sizes").read_text().split("\n")
    chroms = [line.split("\t")[0] for line in sizes if line.strip()]
    assert sorted(stats["chromosomes"]) == sorted(chroms)
    assert stats["params"]["coverage"] == 2
    for chrom, c in stats["chromosomes"].items():
        assert c["stored_bp"] == 2 * c["kept_bp"]
        assert c["kept_bp"] + c["excluded_bp"] == c["length_bp"]
        shard = corpus.open_shard(work / f"results/corpus/demo_hs/shards/{chrom}.seq.npy")
        assert shard.seq.shape[0] == c["stored_bp"] and shard.seq.max() <= 3
    assert 0.4 < stats["full_length_share"] < 0.6
    assert (work / "results/corpus/demo_hs/length_hist.png").is_file()


def test_shard_files(tmp_path):
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr1\t1000\nchrX\t50\n\n")
    got = corpus.shard_files(sizes, "results/corpus/g/shards")
    assert got[:3] == [
        "results/corpus/g/shards/chr1.seq.npy",
        "results/corpus/g/shards/chr1.idx.npy",
        "results/corpus/g/shards/chr1.meta.json",
    ]
    assert len(got) == 6 and got[3].endswith("chrX.seq.npy")
    sizes.write_text("chr1\t1000\na/b\t5\n")
    with pytest.raises(ValueError, match=r"chrom.sizes:2: bad chromosome name 'a/b'"):
        corpus.shard_files(sizes, "x")
    sizes.write_text("")
    with pytest.raises(ValueError, match="no chromosomes"):
        corpus.shard_files(sizes, "x")


def test_open_shard_checks_rows(tmp_path):
    """open_shard rejects pieces outside seq and splits other than 0/1, naming the file."""
    np.save(tmp_path / "c.seq.npy", np.zeros(100, dtype=np.uint8))
    for rows, msg in (
        ([[0, 60, 0], [60, 41, 1]], r"c.idx.npy: row 1 \[60, 41, 1\] lies outside c.seq.npy \(100"),
        ([[0, 60, 0], [60, 40, 2]], r"c.idx.npy: row 1 has split 2"),
        ([[0, 0, 0]], r"row 0 .* lies outside"),
    ):
        np.save(tmp_path / "c.idx.npy", np.asarray(rows, dtype=np.int64))
        with pytest.raises(ValueError, match=msg):
            corpus.open_shard(tmp_path / "c.seq.npy")
    np.save(tmp_path / "c.idx.npy", np.asarray([[0, 60, 0], [60, 40, 1]], dtype=np.int64))
    shard = corpus.open_shard(tmp_path / "c.seq.npy")
    assert isinstance(shard.seq, np.memmap) and isinstance(shard.idx, np.memmap)
    assert [len(x) for x in corpus.iter_pieces(shard, "val")] == [40]


def test_find_shards(tmp_path):
    for c in ("chr2", "chr1"):
        (tmp_path / f"{c}.seq.npy").touch()
    assert [p.name for p in corpus.find_shards(tmp_path)] == ["chr1.seq.npy", "chr2.seq.npy"]
    assert corpus.find_shards(tmp_path / "chr2.seq.npy") == [tmp_path / "chr2.seq.npy"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: no \*.seq.npy corpus shards"):
        corpus.find_shards(tmp_path / "empty")
    with pytest.raises(ValueError, match="end with .seq.npy"):
        corpus.find_shards([tmp_path / "x.npy"])
    with pytest.raises(ValueError, match="empty"):
        corpus.find_shards([])


def test_failed_build_leaves_old_outputs_and_no_temporaries(genome, tmp_path, monkeypatch):
    """An error mid-stream keeps the previous shard intact and deletes every temporary file."""
    from dnalm.corpus import build as build_mod

    fasta, _ = genome
    seq_p, idx_p, _ = build(fasta, "chr2", tmp_path, coverage=2)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real, calls = build_mod._fetch_codes, []

    def failing(*args):
        calls.append(args)
        if len(calls) > 5:  # the scan reads 4 chunks; fail in the second cutting read
            raise OSError("disk went away")
        return real(*args)

    monkeypatch.setattr(build_mod, "_fetch_codes", failing)
    with pytest.raises(OSError, match="disk went away"):
        build(fasta, "chr2", tmp_path, coverage=2, seed=9, chunk_size=12_000)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
