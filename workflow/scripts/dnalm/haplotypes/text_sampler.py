"""Plug a text generator (a DNA language model) into the haplotype pipeline.

A language model produces strings; :func:`text_sampler` turns a ``(n, rng) -> list[str]``
generator into a haplotype sampler ``(n, rng) -> (n, n_sites) int8`` by decoding each string
(:func:`dnalm.haplotypes.tokens.decode_haplotypes`) and drawing again for the invalid ones, up to
``max_rounds`` times. The counts of invalid strings are kept on the sampler (``.report()``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dnalm.haplotypes.tokens import decode_haplotypes

__all__ = ["TextSampler", "text_sampler"]


class TextSampler:
    """A haplotype sampler over a text generator; see :func:`text_sampler`."""

    def __init__(
        self,
        generate_text: Callable[[int, np.random.Generator], list[str]],
        ref: np.ndarray,
        alt: np.ndarray,
        max_rounds: int = 10,
    ) -> None:
        self.generate_text = generate_text
        self.ref = np.asarray(ref, dtype="<U1")
        self.alt = np.asarray(alt, dtype="<U1")
        self.max_rounds = max_rounds
        self.counts = {"n_generated": 0, "n_valid": 0, "n_wrong_length": 0, "n_invalid_token": 0}

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        got: list[np.ndarray] = []
        have = 0
        for _ in range(self.max_rounds):
            if have >= n:
                break
            dec = decode_haplotypes(self.generate_text(n - have, rng), self.ref, self.alt)
            for key, value in dec.report().items():
                if key in self.counts:
                    self.counts[key] += value
            got.append(dec.matrix)
            have += len(dec.matrix)
        if have < n:
            raise ValueError(
                f"text generator gave {have} valid haplotypes of {n} after {self.max_rounds} rounds "
                f"({self.counts})"
            )
        return np.concatenate(got)[:n].astype(np.int8)

    def report(self) -> dict[str, int]:
        """Strings drawn so far: generated, valid, wrong length, invalid letters."""
        return dict(self.counts)


def text_sampler(
    generate_text: Callable[[int, np.random.Generator], list[str]],
    ref: np.ndarray,
    alt: np.ndarray,
    max_rounds: int = 10,
) -> TextSampler:
    """Wrap ``generate_text(n, rng) -> n strings`` as a haplotype sampler.

    Parameters
    ----------
    generate_text : callable
        Returns ``n`` strings written like :func:`dnalm.haplotypes.tokens.encode_haplotypes`'.
    ref, alt : numpy.ndarray, shape=(n_sites,)
    max_rounds : int, optional
        Draws for replacing invalid strings before giving up. Default is 10.

    Returns
    -------
    sampler : TextSampler
        Callable ``(n, rng) -> (n, n_sites) int8``; ``sampler.report()`` counts invalid strings.
    """
    return TextSampler(generate_text, ref, alt, max_rounds)
