"""Score every allele of a user's VCF with a fine-tuned classifier (and optionally a masked LM).

For each ALT allele (multi-allelic records are scored allele by allele):

1. **Checks.** The record's contig must be in the genome (tried as written, then with a
   ``chr`` prefix added or removed, ``MT``/``chrM`` swapped); REF must match the genome
   (upper-cased; ``N`` in REF matches any base). A REF mismatch is skipped and counted
   (``status`` ``ref_mismatch``), or with ``strict_ref`` raises ``<file>:<line>: ...``.
   Symbolic alleles (``*``, ``<DEL>``, breakends) are skipped (``symbolic``), and so are an
   ALT equal to its REF (``no_change``: nothing to score; its diff would read "no effect") and
   alleles whose ref window is more than half ``N`` (``n_window``: an assembly gap, where
   the model would only score its ``[UNK]`` tokens).
2. **Normalisation** (:func:`dnalm.variant_io.left_normalise`): SNVs and MNVs trimmed, indels
   left-aligned against the genome.
3. **Windows** (:func:`dnalm.variant_io.variant_windows`): ``L`` bp (the task's window), REF
   at ``L // 2`` of the ref window, ALT at ``L // 2`` of the alt window, which is refilled
   (deletion) or trimmed (insertion) on the right to ``L`` bp, as DNABERT's ``mutate_seqs``
   mutated fixed-length sequences. For an SNV the ref window is the workflow's centred window.
   Within ``L // 2`` bp of a contig end the windows are ``N``-padded past it (as the
   workflow's): such alleles are scored, counted (``edge_padded`` in ``<out>.json``) and warned
   about, as the model never saw padding in training.
4. **Scores** (:mod:`dnalm.variants.effects`, shared with the workflow): ``p_ref``/``p_alt``
   (positive-class probability), ``diff = (p_alt - p_ref) * max(p_ref, p_alt)`` and
   ``logOR = log2 odds(p_ref) - log2 odds(p_alt)``; with an LM, the zero-shot ``llr`` (masked
   k-mer log-likelihood ratio averaged over both strands) for SNVs; indels and MNVs get none
   (the LLR compares single-base alleles).

Outputs (written together, atomically): ``<out>.vcf.gz`` (BGZF; the input's lines unchanged
but for INFO ``DNALM_PREF``, ``DNALM_PALT``, ``DNALM_DIFF``, ``DNALM_LOGOR``, ``DNALM_LLR``,
each ``Number=A`` and ``.`` for skipped alleles, declared in the header with any undeclared
contigs; values from an earlier run are replaced), ``<out>.tsv`` (one row per allele, columns
:data:`COLUMNS`) and ``<out>.json`` (counts per status, and ``warnings``: alleles whose REF
disagrees with the genome, flagged as a likely other assembly when they are most of them, or no
allele scored). Variants are scored in chunks, so memory does not grow with the VCF. With
``regions`` (``CHR``, ``CHR:START-END``; 1-based, inclusive, as ``bcftools view -r``) only
records overlapping one of them are read on, in file order: a streamed filter, so the VCF needs
no index. The VCF is rewritten as text rather than through
``pysam.VariantFile`` records: htslib declares missing tags (an ``END`` for ``<DEL>``, INFO keys
a header forgot) while it reads, and translating such records to an output header can abort
the process; text keeps every other byte of the user's records as it was.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dnalm import atomic
from dnalm.contigs import prefix_resolver
from dnalm.fasta import open_indexed
from dnalm.variant_io import (
    Record,
    is_symbolic,
    iter_records,
    left_normalise,
    read_header,
    variant_windows,
)

__all__ = ["COLUMNS", "INFO_FIELDS", "STATUSES", "Region", "parse_region", "score_vcf",
           "output_paths"]

log = logging.getLogger("dnalm.score_vcf")

_CONTIG = re.compile(r"##contig=<ID=([^,>]+)")

#: Alleles whose ref window is more than this fraction N (an assembly gap) are not scored
#: (``n_window``), as ``dnalm scan`` skips such windows.
MAX_N = 0.5

COLUMNS = ["chrom", "pos", "id", "ref", "alt", "line", "status", "kind", "norm_pos", "norm_ref",
           "norm_alt", "p_ref", "p_alt", "diff", "logOR", "llr"]
STATUSES = ("scored", "ref_mismatch", "symbolic", "no_change", "unknown_contig", "outside_contig",
            "n_window")
INFO_FIELDS = {
    "DNALM_PREF": ("p_ref", "Positive-class probability of the reference window (dnalm)"),
    "DNALM_PALT": ("p_alt", "Positive-class probability of the alternate window (dnalm)"),
    "DNALM_DIFF": ("diff", "(p_alt - p_ref) * max(p_ref, p_alt), DNABERT diff (dnalm)"),
    "DNALM_LOGOR": ("logOR", "log2 odds(p_ref) - log2 odds(p_alt), DNABERT logOR (dnalm)"),
    "DNALM_LLR": ("llr", "Zero-shot masked-LM log-likelihood ratio alt vs ref, SNVs (dnalm)"),
}


_REGION = re.compile(r"([^\s:]+)(?::([\d,]+)-([\d,]+))?")


class Region(NamedTuple):
    """A genomic interval, 1-based and inclusive; a whole contig has ``end`` None."""

    contig: str
    start: int = 1
    end: int | None = None


def parse_region(text: str) -> Region:
    """``CHR`` or ``CHR:START-END`` (1-based, inclusive; commas in numbers allowed) as a Region.

    Raises
    ------
    ValueError
        Naming ``text`` when it is not of that form or START > END or START < 1.
    """
    m = _REGION.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"region {text!r}: expected CHR or CHR:START-END (1-based, inclusive)")
    if m.group(2) is None:
        return Region(m.group(1))
    start, end = (int(m.group(i).replace(",", "")) for i in (2, 3))
    if start < 1 or start > end:
        raise ValueError(f"region {text!r}: START must be >= 1 and <= END")
    return Region(m.group(1), start, end)


def _in_regions(records: Iterable[Record], regions: Sequence[Region], resolve) -> Iterator[Record]:
    """The records whose REF span overlaps one of ``regions`` (contigs compared by their genome
    name, so ``1`` in the VCF matches a region on ``chr1``)."""
    by_contig: dict[str, list[Region]] = {}
    for r in regions:
        by_contig.setdefault(resolve(r.contig) or r.contig, []).append(r)
    for rec in records:
        spans = by_contig.get(resolve(rec.contig) or rec.contig)
        if not spans:
            continue
        last = rec.pos + max(len(rec.ref), 1) - 1
        if any(rec.pos <= (r.end if r.end is not None else last) and last >= r.start
               for r in spans):
            yield rec


def output_paths(out: str | Path) -> dict[str, str]:
    """``<prefix>.vcf.gz``, ``.tsv`` and ``.json`` (a trailing ``.vcf``/``.vcf.gz`` is dropped)."""
    s = str(out)
    for ext in (".vcf.gz", ".vcf"):
        if s.endswith(ext):
            s = s[: -len(ext)]
    return {"vcf": f"{s}.vcf.gz", "tsv": f"{s}.tsv", "json": f"{s}.json"}


def _kind(ref: str, alt: str) -> str:
    if len(ref) == len(alt):
        return "snv" if len(ref) == 1 else "mnv"
    if len(ref) == 1 and alt[0] == ref:
        return "ins"
    if len(alt) == 1 and ref[0] == alt:
        return "del"
    return "complex"


def _ref_matches(ref: str, genome: str) -> bool:
    return len(ref) == len(genome) and all(r in ("N", g) for r, g in zip(ref, genome, strict=True))


class _Chunk:
    """Alleles waiting to be scored, with where each result goes."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.ref_w: list[str] = []
        self.alt_w: list[str] = []
        self.row_of: list[int] = []  # row index of each window pair
        self.snv: list[int] = []  # window pairs that are SNVs (zero-shot)
        self.edge = 0  # scored alleles whose ref window is N-padded past a contig end


def _score_chunk(ch: _Chunk, model, k, mlm, lm_k, batch_size, device, positive_class) -> None:
    from dnalm.variants.effects import classifier_delta, delta_scores, zero_shot_llr

    if not ch.ref_w:
        return
    p_ref, p_alt = classifier_delta(model, k, ch.ref_w, ch.alt_w, batch_size, device,
                                    positive_class)
    diff, logor = delta_scores(p_ref, p_alt)
    for j, r in enumerate(ch.row_of):
        ch.rows[r].update(p_ref=p_ref[j], p_alt=p_alt[j], diff=diff[j], logOR=logor[j])
    if mlm is not None and ch.snv:
        c = [len(ch.ref_w[j]) // 2 for j in ch.snv]
        llr = zero_shot_llr(mlm, lm_k, [ch.ref_w[j] for j in ch.snv], c,
                            [ch.rows[ch.row_of[j]]["norm_ref"] for j in ch.snv],
                            [ch.rows[ch.row_of[j]]["norm_alt"] for j in ch.snv],
                            batch_size, device)
        for j, v in zip(ch.snv, llr, strict=True):
            ch.rows[ch.row_of[j]]["llr"] = v


def _alleles(rec: Record, fa, resolve, sizes, L: int, strict_ref: bool, path: Path, ch: _Chunk,
             counts: Counter) -> None:
    """Append one row per ALT of ``rec`` to ``ch`` (and its windows when scorable)."""
    contig = resolve(rec.contig)
    for alt in rec.alts:
        row = dict.fromkeys(COLUMNS)
        row.update(chrom=rec.contig, pos=rec.pos, id=rec.id, ref=rec.ref, alt=alt, line=rec.line)
        status = "scored"
        if is_symbolic(alt):
            status = "symbolic"
        elif alt.upper() == rec.ref:  # not a variant: ref and alt windows would be the same
            status = "no_change"
        elif contig is None:
            status = "unknown_contig"
        elif rec.pos - 1 + len(rec.ref) > sizes[contig]:
            status = "outside_contig"
        else:
            pos0 = rec.pos - 1
            g = fa.fetch(contig, pos0, pos0 + len(rec.ref)).upper()
            if not _ref_matches(rec.ref, g):
                if strict_ref:
                    raise ValueError(f"{path}:{rec.line}: REF {rec.ref!r} does not match the "
                                     f"genome ({g!r}) at {contig}:{rec.pos}")
                status = "ref_mismatch"
            else:
                def fetch(s: int, e: int, c: str = contig) -> str:
                    return fa.fetch(c, s, e).upper()

                ref = g if "N" in rec.ref else rec.ref
                npos0, nref, nalt = left_normalise(fetch, pos0, ref, alt.upper())
                row.update(kind=_kind(nref, nalt), norm_pos=npos0 + 1, norm_ref=nref,
                           norm_alt=nalt)
                rw, aw, _ = variant_windows(fetch, sizes[contig], npos0, nref, nalt, L)
                if rw.count("N") > MAX_N * len(rw):  # a gap: the model would score its N
                    status = "n_window"
                else:
                    start = npos0 - L // 2
                    ch.edge += bool(start < 0 or start + L > sizes[contig])
                    ch.row_of.append(len(ch.rows))
                    if len(nref) == 1 and len(nalt) == 1:
                        ch.snv.append(len(ch.ref_w))
                    ch.ref_w.append(rw)
                    ch.alt_w.append(aw)
        row["status"] = status
        counts[status] += 1
        ch.rows.append(row)


def _header_lines(header: list[str], contigs, sizes: dict[str, int], resolve) -> list[str]:
    """The input's header with ``##contig`` lines for undeclared contigs (length from the genome
    when it has them) and this module's ``##INFO`` lines (replacing any from an earlier run)."""
    ours = tuple(f"##INFO=<ID={key}," for key in INFO_FIELDS)
    meta = [h for h in header[:-1] if not h.startswith(ours)]
    declared = {m.group(1) for h in meta if (m := _CONTIG.match(h))}
    for c in contigs:
        if c not in declared:
            g = resolve(c)
            meta.append(f"##contig=<ID={c},length={sizes[g]}>" if g else f"##contig=<ID={c}>")
    meta += [f'##INFO=<ID={key},Number=A,Type=Float,Description="{desc}">'
             for key, (_, desc) in INFO_FIELDS.items()]
    return meta + header[-1:]


def _with_info(text: str, rows: list[dict]) -> str:
    """A VCF line with this module's INFO fields set from ``rows`` (one per ALT, in order);
    a field whose alleles are all unscored is left out."""
    f = text.split("\t")
    keep = [kv for kv in f[7].split(";") if kv not in ("", ".") and kv.split("=", 1)[0] not in INFO_FIELDS]
    for key, (col, _) in INFO_FIELDS.items():
        vals = [_fmt(r[col]) for r in rows]
        if any(v != "." for v in vals):
            keep.append(f"{key}={','.join(vals)}")
    f[7] = ";".join(keep) or "."
    return "\t".join(f)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "."
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.8g}"
    return str(v)


def score_vcf(
    model,
    k: int,
    vcf: str | Path,
    genome: str | Path,
    out: str | Path,
    window: int,
    lm=None,
    lm_k: int | None = None,
    batch_size: int = 64,
    device=None,
    positive_class: int = 1,
    strict_ref: bool = False,
    chunk: int = 4096,
    verbose: bool = False,
    regions: Sequence[Region | str] | None = None,
) -> dict:
    """Score a VCF's alleles and write ``<out>.vcf.gz``, ``<out>.tsv`` and ``<out>.json``.

    Parameters
    ----------
    model, k
        As returned by :func:`dnalm.predict.load_classifier`.
    vcf : str or pathlib.Path
        Plain or gzip VCF (no index needed).
    genome : str or pathlib.Path
        Indexed FASTA.
    out : str or pathlib.Path
        Output prefix (see :func:`output_paths`).
    window : int
        Window length ``L`` in bp.
    lm : transformers.BertForMaskedLM, optional
        For the zero-shot LLR (with ``lm_k``). Default is None.
    batch_size : int, optional
        Default is 64. Scores do not depend on it.
    positive_class : int, optional
        Default is 1.
    strict_ref : bool, optional
        Raise on a REF mismatch instead of skipping. Default is False.
    chunk : int, optional
        Records scored together. Default is 4096. Scores do not depend on it.
    verbose : bool, optional
        Progress bar over records. Default is False.
    regions : sequence of Region or str, optional
        Score only records overlapping these (``CHR`` or ``CHR:START-END``, 1-based inclusive,
        see :func:`parse_region`); the output VCF holds only those records. Every line of the
        VCF is still read and checked. Default is None (every record).

    Returns
    -------
    summary : dict
        ``counts`` per status (alleles), ``n_records`` (records scored: inside ``regions``
        when given), ``regions``, ``outputs``, ``window``.

    Raises
    ------
    ValueError
        ``<file>:<line>: ...`` for a malformed record (or a REF mismatch with ``strict_ref``),
        a malformed region, or a region on a contig the genome lacks; nothing is written then.
    """
    import pysam
    from tqdm.auto import tqdm

    vpath, gpath = Path(vcf), Path(genome)
    if window < 1:
        raise ValueError(f"window must be positive, got {window}")
    regs = [r if isinstance(r, Region) else parse_region(r) for r in regions or ()]
    fa = open_indexed(gpath)
    sizes = dict(zip(fa.references, fa.lengths, strict=True))
    resolve = prefix_resolver(sizes)
    for r in regs:
        if resolve(r.contig) is None:
            fa.close()
            raise ValueError(f"region {r.contig}: not a contig of {gpath} "
                             f"(it has {', '.join(list(sizes)[:10])}{', ...' if len(sizes) > 10 else ''})")

    def records() -> Iterator[Record]:
        recs = iter_records(vpath)
        return _in_regions(recs, regs, resolve) if regs else recs

    # pass 1: validate every line before anything is written; collect contigs
    n_records, rec_contigs = 0, {}
    try:
        for rec in records():
            n_records += 1
            rec_contigs.setdefault(rec.contig, None)
    except ValueError:
        fa.close()
        raise
    paths = output_paths(out)
    counts: Counter = Counter({s: 0 for s in STATUSES})
    n_edge = 0
    header = _header_lines(read_header(vpath), rec_contigs, sizes, resolve)
    unknown = [c for c in rec_contigs if resolve(c) is None]
    if unknown:
        log.warning("%s: %d contig(s) are not in %s, so their records are not scored: %s (the "
                    "genome has %s)", vpath, len(unknown), gpath, _some(unknown), _some(list(sizes)))
    with contextlib.ExitStack() as stack:
        stack.callback(fa.close)
        tmp = stack.enter_context(atomic.atomic_paths(paths))
        vout = stack.enter_context(pysam.BGZFile(str(tmp["vcf"]), "wb"))
        vout.write("".join(h + "\n" for h in header).encode())
        tsv = stack.enter_context(open(tmp["tsv"], "w"))
        tsv.write("\t".join(COLUMNS) + "\n")
        bar = stack.enter_context(tqdm(total=n_records, disable=not verbose, desc="variants"))
        recs = records()
        while True:
            batch = list(itertools.islice(recs, chunk))
            if not batch:
                break
            ch = _Chunk()
            n_rows = []
            for rec in batch:
                before = len(ch.rows)
                _alleles(rec, fa, resolve, sizes, window, strict_ref, vpath, ch, counts)
                n_rows.append(len(ch.rows) - before)
            _score_chunk(ch, model, k, lm, lm_k, batch_size, device, positive_class)
            n_edge += ch.edge
            i, lines = 0, []
            for rec, n in zip(batch, n_rows, strict=True):
                rows = ch.rows[i : i + n]
                i += n
                lines.append(_with_info(rec.text, rows) + "\n")
                tsv.writelines("\t".join(_fmt(r[c]) for c in COLUMNS) + "\n" for r in rows)
            vout.write("".join(lines).encode())
            bar.update(len(batch))
        vout.close()  # flush the BGZF stream before the files are committed
        warnings = _warnings(counts, n_records, vpath, gpath)
        if n_edge:
            warnings.append(f"{vpath}: {n_edge} scored alleles lie within {window // 2} bp of a "
                            f"contig end: their windows are N-padded past it ({gpath}), which the "
                            "model never saw in training, so treat their scores with care "
                            "(dnalm predict refuses such windows)")
        summary = {"counts": dict(counts), "n_records": n_records, "window": window,
                   "edge_padded": n_edge,
                   "positive_class": positive_class, "zero_shot": lm is not None,
                   "regions": [f"{r.contig}:{r.start}-{r.end}" if r.end is not None else r.contig
                               for r in regs] or None,
                   "vcf": str(vpath), "genome": str(gpath), "outputs": paths,
                   "warnings": warnings}
        atomic.write_json(tmp["json"], summary)
    for w in warnings:
        log.warning("%s", w)
    return summary


def _some(names: Sequence[str], n: int = 10) -> str:
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


def _warnings(counts: Mapping[str, int], n_records: int, vpath: Path, gpath: Path) -> list[str]:
    """What a user must hear about a run that scored less than it read (also in OUT.json)."""
    out = []
    bad, placed = counts["ref_mismatch"], counts["scored"] + counts["ref_mismatch"] + counts["n_window"]
    if bad:
        msg = f"{vpath}: {bad} of {placed} alleles skipped: REF does not match {gpath}"
        if placed >= 10 and bad >= placed / 2:
            msg += " (most of them: is the VCF on another assembly than the genome?)"
        out.append(msg)
    if counts["n_window"]:
        out.append(f"{vpath}: {counts['n_window']} alleles not scored: their window is more than "
                   f"half N in {gpath} (an assembly gap)")
    if counts["no_change"]:
        out.append(f"{vpath}: {counts['no_change']} alleles not scored: ALT equals REF")
    if n_records and not counts["scored"]:
        out.append(f"{vpath}: no allele was scored out of {n_records} records ("
                   + ", ".join(f"{v} {s}" for s, v in counts.items() if v) + ")")
    return out
