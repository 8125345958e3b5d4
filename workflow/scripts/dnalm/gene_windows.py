"""Windows on annotated transcripts, shared by the GTF-based tasks (splice, PAS, TIS, splice loop).

- :func:`known_transcripts` keeps the transcripts whose contig the genome has, renamed to the
  genome's own name (or refuses an unknown contig, naming the GTF and transcript);
- :func:`genic_spans` gives their 0-based ``(contig, start, end, strand)`` spans, the ground
  negatives are drawn from;
- :func:`fetch_window` reads one oriented window, counting windows that leave the contig or hold
  ``N`` in the task's stats instead of returning them.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from dnalm.fasta import Genome

__all__ = ["known_transcripts", "genic_spans", "fetch_window"]


class _Tx(Protocol):
    """What the helpers read of a transcript (:class:`dnalm.splice.Transcript`, ``TxModel``)."""

    contig: str
    strand: str
    exons: Any

    def _replace(self, **kw: Any) -> _Tx: ...


T = TypeVar("T", bound=_Tx)


def known_transcripts(
    transcripts: Mapping[str, T],
    genome: Genome,
    unknown_contigs: str = "skip",
    source: str | Path = "genes.gtf",
) -> dict[str, T]:
    """The transcripts on contigs of ``genome``, with the genome's contig names (input order).

    Parameters
    ----------
    transcripts : mapping of transcript id -> transcript
    genome : Genome
    unknown_contigs : {"skip", "error"}, optional
        What to do with a transcript on a contig the genome lacks. Default is "skip".
    source : str or Path, optional
        The GTF, named in errors. Default is "genes.gtf".

    Raises
    ------
    ValueError
        ``"<source>: transcript <id> is on contig ..."`` with ``unknown_contigs="error"``.
    """
    out: dict[str, T] = {}
    for tid, t in transcripts.items():
        c = genome.canonical(t.contig)
        if c is None:
            if unknown_contigs == "error":
                raise ValueError(
                    f"{source}: transcript {tid} is on contig {t.contig!r}, not in the genome"
                )
            continue
        out[tid] = t._replace(contig=c)
    return out


def genic_spans(transcripts: Mapping[str, _Tx], min_exons: int = 1) -> list[tuple[str, int, int, str]]:
    """0-based ``(contig, start, end, strand)`` of each stranded transcript, sorted by id.

    Exons are 1-based closed and sorted by start (as :func:`dnalm.splice.read_gtf_exons` and
    :func:`dnalm.pas_tis.read_gtf_models` give them); transcripts with fewer than ``min_exons``
    exons or no strand are left out.
    """
    return [
        (t.contig, t.exons[0][0] - 1, t.exons[-1][1], t.strand)
        for _, t in sorted(transcripts.items())
        if len(t.exons) >= max(1, min_exons) and t.strand in ("+", "-")
    ]


def fetch_window(
    genome: Genome,
    contig: str,
    start: int,
    end: int,
    strand: str,
    stats: MutableMapping[str, int],
) -> str | None:
    """The window ``[start, end)`` read on ``strand``, or None (counted in ``stats``).

    A window leaving the contig adds 1 to ``stats["out_of_bounds"]``, one holding ``N`` to
    ``stats["has_n"]``; both return None.
    """
    if not genome.within(contig, start, end):
        stats["out_of_bounds"] = stats.get("out_of_bounds", 0) + 1
        return None
    seq = genome.fetch(contig, start, end, strand)
    if "N" in seq:
        stats["has_n"] = stats.get("has_n", 0) + 1
        return None
    return seq
