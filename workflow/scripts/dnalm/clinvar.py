"""ClinVar INFO parsing: clinical significance classes, review stars, comma-safe values.

ClinVar writes spaces as ``_`` and puts commas *inside* values
(``CLNREVSTAT=criteria_provided,_multiple_submitters,_no_conflicts``). pysam declares
such ``Number=.`` fields as lists and splits them on ``,``, so every value read through
pysam is re-joined with ``,`` by :func:`info_text` before it is interpreted.

``CLNSIG`` is split into terms on ``/``, ``|`` and ``,_`` and each term is matched
*exactly* against ClinVar's vocabulary; a substring test would call
``Conflicting_classifications_of_pathogenicity`` pathogenic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "PATHOGENIC_TERMS",
    "BENIGN_TERMS",
    "CONFLICTING_TERMS",
    "UNCERTAIN_TERMS",
    "info_text",
    "clnsig_terms",
    "clinsig_class",
    "review_stars",
]

PATHOGENIC_TERMS = frozenset({"Pathogenic", "Likely_pathogenic"})
BENIGN_TERMS = frozenset({"Benign", "Likely_benign"})
# Both spellings: "interpretations" (until 2023/24) and "classifications" (since).
CONFLICTING_TERMS = frozenset(
    {
        "Conflicting_interpretations_of_pathogenicity",
        "Conflicting_classifications_of_pathogenicity",
    }
)
UNCERTAIN_TERMS = frozenset({"Uncertain_significance"})

_SPLIT = re.compile(r"/|\||,_")

# CLNREVSTAT (commas re-joined) -> gold stars, as on the ClinVar web pages.
_STARS = {
    "practice_guideline": 4,
    "reviewed_by_expert_panel": 3,
    "criteria_provided,_multiple_submitters,_no_conflicts": 2,
    "criteria_provided,_single_submitter": 1,
    "criteria_provided,_conflicting_interpretations": 1,
    "criteria_provided,_conflicting_classifications": 1,
    "no_assertion_criteria_provided": 0,
    "no_assertion_provided": 0,
    "no_classification_provided": 0,
    "no_interpretation_for_the_single_variant": 0,
    "no_classification_for_the_single_variant": 0,
    "no_classifications_from_unflagged_records": 0,
}


def info_text(value: object) -> str:
    """One INFO value as text: tuples/lists (pysam ``Number=.``) re-joined with ``,``.

    ``None`` (absent) and ``True`` (a set Flag) become ``""`` and ``"1"``.
    """
    if value is None:
        return ""
    if value is True:
        return "1"
    if isinstance(value, tuple | list):
        return ",".join("" if v is None else str(v) for v in value)
    return str(value)


def clnsig_terms(clnsig: object) -> tuple[str, ...]:
    """Split a CLNSIG value into exact terms on ``/``, ``|`` and ``,_``.

    >>> clnsig_terms("Pathogenic/Likely_pathogenic|risk_factor")
    ('Pathogenic', 'Likely_pathogenic', 'risk_factor')
    >>> clnsig_terms(("Pathogenic", "_low_penetrance"))  # as pysam returns it
    ('Pathogenic', 'low_penetrance')
    """
    text = info_text(clnsig).strip()
    if not text or text == ".":
        return ()
    return tuple(t.strip("_ ") for t in _SPLIT.split(text) if t.strip("_ "))


def clinsig_class(clnsig: object) -> str:
    """Collapse CLNSIG into one class for the pathogenic-vs-benign comparison.

    Returns
    -------
    str
        ``"conflicting"`` if a Conflicting term is present or both pathogenic and benign
        terms are; else ``"pathogenic"`` (Pathogenic / Likely_pathogenic, compounds
        included), ``"benign"`` (Benign / Likely_benign), ``"uncertain"``
        (Uncertain_significance), ``"other"`` (risk_factor, drug_response, ...) or
        ``"missing"`` (no CLNSIG).
    """
    terms = set(clnsig_terms(clnsig))
    if not terms:
        return "missing"
    path = bool(terms & PATHOGENIC_TERMS)
    ben = bool(terms & BENIGN_TERMS)
    if terms & CONFLICTING_TERMS or (path and ben):
        return "conflicting"
    if path:
        return "pathogenic"
    if ben:
        return "benign"
    if terms & UNCERTAIN_TERMS:
        return "uncertain"
    return "other"


def review_stars(clnrevstat: object) -> int | None:
    """Gold stars for a CLNREVSTAT value (tuples re-joined), ``None`` when unrecognised.

    practice_guideline 4; reviewed_by_expert_panel 3; multiple submitters, no conflicts 2;
    single submitter or conflicting (either spelling) 1; no assertion/classification 0.
    """
    text = info_text(clnrevstat).strip()
    return _STARS.get(text)


def class_counts(classes: Iterable[str]) -> dict[str, int]:
    """Counts per class name, every class present (zeros included), for summaries."""
    out = dict.fromkeys(
        ("pathogenic", "benign", "uncertain", "conflicting", "other", "missing"), 0
    )
    for c in classes:
        out[c] = out.get(c, 0) + 1
    return out
