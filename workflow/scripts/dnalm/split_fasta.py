"""A dataset split as FASTA: the sequences of ``results/datasets/<task>/<split>.tsv.gz``.

Record ``i`` is row ``i`` of the split, named ``<split>:<i>`` (the ``split`` and ``index`` of
the fine-tuning run's ``predictions.tsv.gz``), with the label and, when the split has them,
the source id and coordinates in the description. ``dnalm predict`` on this file with the
task's fine-tuned model gives the probabilities of ``predictions.tsv.gz`` for that split.
"""

from __future__ import annotations

from pathlib import Path

from dnalm import atomic

__all__ = ["write_split_fasta"]


def write_split_fasta(split_tsv: str | Path, out: str | Path, split: str, width: int = 60) -> int:
    """Write the rows of a dataset split as FASTA, atomically.

    Parameters
    ----------
    split_tsv : str or pathlib.Path
        A split TSV (:func:`dnalm.dataset.read_split` checks it).
    out : str or pathlib.Path
        Plain FASTA.
    split : str
        Split name used in the record names (``train``, ``dev``, ``test``).
    width : int, optional
        Bases per line. Default is 60.

    Returns
    -------
    int
        Records written.
    """
    from dnalm.dataset import read_split

    df = read_split(split_tsv)
    extra = [c for c in ("source_id", "contig", "start", "end", "strand") if c in df.columns]
    with atomic.atomic_path(out) as tmp, open(tmp, "w") as fh:
        for i, row in enumerate(df.itertuples(index=False)):
            desc = " ".join([f"label={row.label}"] + [f"{c}={getattr(row, c)}" for c in extra])
            seq = row.sequence
            fh.write(f">{split}:{i} {desc}\n")
            fh.writelines(seq[a : a + width] + "\n" for a in range(0, len(seq), width))
    return len(df)
