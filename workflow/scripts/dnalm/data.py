"""Read one split of a labelled dataset (``results/datasets/{task}/{split}.tsv.gz``)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

__all__ = ["COLUMNS", "read_split"]

#: Header of the dataset TSV contract (docs/ARCHITECTURE.md). Only the first two are required.
COLUMNS = ("sequence", "label", "contig", "start", "end", "strand", "source_id")
_BAD_BASE = re.compile(r"[^ACGTN]")


def read_split(path: str | Path) -> pd.DataFrame:
    """Read a dataset split TSV (plain or gzip) and check it.

    Parameters
    ----------
    path : str or pathlib.Path
        Tab-separated file with a header holding at least ``sequence`` and ``label``.

    Returns
    -------
    df : pandas.DataFrame, shape=(n, n_columns)
        ``sequence`` upper-cased str, ``label`` int64 (0..C-1); other columns kept as str.

    Raises
    ------
    ValueError
        Naming ``path`` and the 1-based file line when the header lacks a required column,
        a label is not a non-negative integer, or a sequence is empty or holds non-ACGTN
        characters; or when the file has no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: dataset split not found")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}:1: empty file, expected a header line") from None
    missing = [c for c in ("sequence", "label") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}:1: header lacks column(s) {missing}; expected {' '.join(COLUMNS)}"
        )
    if len(df) == 0:
        raise ValueError(f"{path}: no rows after the header")
    seqs = df["sequence"].str.strip().str.upper()
    for i, s in enumerate(seqs):
        if not s:
            raise ValueError(f"{path}:{i + 2}: empty sequence")
        m = _BAD_BASE.search(s)
        if m:
            raise ValueError(
                f"{path}:{i + 2}: sequence has non-ACGTN character {m.group()!r} at index {m.start()}"
            )
    labels = df["label"].str.strip()
    ok = labels.str.fullmatch(r"\d+")
    if not ok.all():
        i = int((~ok).to_numpy().nonzero()[0][0])
        raise ValueError(
            f"{path}:{i + 2}: label {df['label'].iloc[i]!r} is not a non-negative integer"
        )
    df["sequence"] = seqs
    df["label"] = labels.astype("int64")
    return df.reset_index(drop=True)
