"""DNAGPT-style tokenization: non-overlapping 6-mers plus a small token language.

Layout (the published DNAGPT id layout, so that its ids and ours agree):

- 34 reserved tokens written ``<X>``: the digits ``<0>``..``<9>`` (ids 0-9), the operators
  ``<+> <-> <*> </> <=> <&> <|> <!>`` (10-17), ``<M>`` (18, the number slot and regression
  query), ``<B>`` (19, the classification query), ``<P>`` (20, padding), the species/task
  letters ``<R>`` (21, human) ``<I> <K> <L> <O> <Q> <S> <U> <V>`` (22-29) and the spare
  ``<W> <Y> <X> <Z>`` (30-33);
- then every k-mer of length 1 to 6 over ``NAGCT``, shortest first and each length in
  ``itertools.product("NAGCT")`` order: 1-mers 34-38, 2-mers from 39, ..., 6-mers 3939-19563
  (``AAAAAA`` is 7845, ``TTTTTT`` 19563), 19,564 tokens in all.

DNA is cut into consecutive non-overlapping windows of 6 bases from the left; a tail of 1-5
bases is one shorter token, so every sequence decodes back to itself. Input is upper-cased;
bases other than ACGT (IUPAC codes, gaps) become ``N``, which is a real symbol here.

Text form: specials inline, e.g. ``<R>ACGTACGT<=><M>`` (:meth:`GptTokenizer.encode_text`).
Tokenization is vectorised: a sequence becomes NAGCT codes and each window a base-5 number.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dnalm.atomic import write_json, write_text

__all__ = [
    "K",
    "ALPHABET",
    "RESERVED",
    "N_RESERVED",
    "VOCAB_SIZE",
    "PAD_ID",
    "NUM_ID",
    "QUERY_ID",
    "ANSWER_ID",
    "SPECIES_ID",
    "KMER_OFFSET",
    "GptTokenizer",
    "load_gpt_tokenizer",
]

K = 6
ALPHABET = "NAGCT"
RESERVED = (
    tuple(f"<{d}>" for d in range(10))
    + ("<+>", "<->", "<*>", "</>", "<=>", "<&>", "<|>", "<!>", "<M>", "<B>", "<P>")
    + tuple(f"<{c}>" for c in "RIKLOQSUV")
    + tuple(f"<{c}>" for c in "WYXZ")
)
N_RESERVED = len(RESERVED)  # 34
_ID = {t: i for i, t in enumerate(RESERVED)}
PAD_ID = _ID["<P>"]  # 20
NUM_ID = _ID["<M>"]  # 18: a number slot (input) or the regression query (output)
QUERY_ID = _ID["<B>"]  # 19: the classification query
ANSWER_ID = _ID["<=>"]  # 14: introduces the answer
SPECIES_ID = _ID["<R>"]  # 21: human; the sequence prefix
#: First id of the k-mers of each length 1..6 (index j-1): 34, 39, 64, 189, 814, 3939.
KMER_OFFSET = tuple(N_RESERVED + sum(5**i for i in range(1, j)) for j in range(1, K + 1))
VOCAB_SIZE = KMER_OFFSET[-1] + 5**K  # 19564

# ASCII -> NAGCT code (N=0, A=1, G=2, C=3, T=4); lower case folds to upper, anything else is N.
_CODE = np.zeros(256, dtype=np.int64)
for _i, _b in enumerate(ALPHABET):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
#: dnalm.kmers base codes (A=0, T=1, C=2, G=3, other=4) -> NAGCT codes.
_FROM_DNALM = np.array([1, 4, 3, 2, 0], dtype=np.int64)
_POW = 5 ** np.arange(K - 1, -1, -1, dtype=np.int64)  # most significant base first


def _vocab() -> list[str]:
    out = list(RESERVED)
    for j in range(1, K + 1):
        out += ["".join(p) for p in itertools.product(ALPHABET, repeat=j)]
    return out


class GptTokenizer:
    """Non-overlapping 6-mer tokenizer with DNAGPT's reserved tokens.

    Parameters
    ----------
    model_max_length : int, optional
        Positions of the model the tokenizer is saved with (recorded in
        ``tokenizer_config.json``; nothing is cropped here). Default is 512.
    """

    def __init__(self, model_max_length: int = 512) -> None:
        self.model_max_length = int(model_max_length)
        self.vocab = _vocab()
        self.token_to_id = {t: i for i, t in enumerate(self.vocab)}
        if len(self.vocab) != VOCAB_SIZE:  # pragma: no cover - layout invariant
            raise AssertionError(f"vocabulary has {len(self.vocab)} tokens, expected {VOCAB_SIZE}")

    def __len__(self) -> int:
        return VOCAB_SIZE

    # ------------------------------------------------------------------ DNA <-> ids

    @staticmethod
    def codes_to_ids(codes: np.ndarray) -> np.ndarray:
        """Token ids of NAGCT codes (N=0, A=1, G=2, C=3, T=4), shape=(ceil(L/6),), int64.

        Parameters
        ----------
        codes : numpy.ndarray, shape=(L,), dtype=int
            Values 0-4.
        """
        codes = np.asarray(codes, dtype=np.int64)
        n_full, tail = divmod(len(codes), K)
        ids = codes[: n_full * K].reshape(n_full, K) @ _POW + KMER_OFFSET[-1]
        if tail:
            t = codes[n_full * K :]
            ids = np.append(ids, int(t @ _POW[K - tail :]) + KMER_OFFSET[tail - 1])
        return ids

    @classmethod
    def dnalm_codes_to_ids(cls, codes: np.ndarray) -> np.ndarray:
        """Token ids of :mod:`dnalm.kmers` base codes (A=0, T=1, C=2, G=3, other=4, e.g. corpus shards)."""
        return cls.codes_to_ids(_FROM_DNALM[np.asarray(codes, dtype=np.int64)])

    @classmethod
    def encode(cls, seq: str) -> np.ndarray:
        """Token ids of a DNA string (no specials), shape=(ceil(len(seq)/6),), int64."""
        if not isinstance(seq, str):
            raise TypeError(f"`seq` must be a str, got {type(seq).__name__}")
        return cls.codes_to_ids(_CODE[np.frombuffer(seq.encode("latin-1", "replace"), dtype=np.uint8)])

    def encode_text(self, text: str) -> np.ndarray:
        """Ids of the text form: ``<X>`` reserved tokens inline with DNA, e.g. ``<R>ACGT<=><M>``.

        Raises
        ------
        ValueError
            For an unknown ``<X>`` token or an unbalanced ``<``/``>``.
        """
        out: list[np.ndarray] = []
        pos = 0
        while pos < len(text):
            lt = text.find("<", pos)
            if lt < 0:
                lt = len(text)
            if ">" in text[pos:lt]:
                raise ValueError(f"`text`: '>' without '<' at character {text.index('>', pos)}")
            if lt > pos:
                out.append(self.encode(text[pos:lt]))
            if lt == len(text):
                break
            gt = text.find(">", lt)
            if gt < 0:
                raise ValueError(f"`text`: '<' at character {lt} is never closed")
            tok = text[lt : gt + 1]
            if tok not in _ID:
                raise ValueError(f"`text`: unknown token {tok!r} at character {lt} "
                                 f"(reserved: {' '.join(RESERVED)})")
            out.append(np.array([_ID[tok]], dtype=np.int64))
            pos = gt + 1
        return np.concatenate(out) if out else np.empty(0, np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The text of ``ids``: DNA concatenated, reserved tokens as ``<X>``."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= VOCAB_SIZE):
            raise ValueError(f"`ids` must lie in [0, {VOCAB_SIZE}), got {ids.min()}..{ids.max()}")
        return "".join(self.vocab[i] for i in ids.tolist())

    # ------------------------------------------------------------------ files

    def save(self, directory: str | Path) -> None:
        """Write ``vocab.txt`` (one token per line, id = line) and ``tokenizer_config.json``.

        Also ``special_tokens_map.json``; HF conventions, ``do_lower_case`` false (upper
        case is what the model reads; :meth:`encode` folds case itself).
        """
        d = Path(directory)
        write_text(d / "vocab.txt", "\n".join(self.vocab) + "\n")
        write_json(d / "tokenizer_config.json", {
            "tokenizer_class": "DnaGptTokenizer",
            "do_lower_case": False,
            "kmer": K,
            "alphabet": ALPHABET,
            "vocab_layout": "dnagpt_dynamic",
            "vocab_size": VOCAB_SIZE,
            "model_max_length": self.model_max_length,
            "pad_token": "<P>",
            "number_token": "<M>",
            "query_token": "<B>",
            "answer_token": "<=>",
            "species_token": "<R>",
        })
        write_json(d / "special_tokens_map.json", {"pad_token": "<P>",
                                                   "additional_special_tokens": list(RESERVED)})


def load_gpt_tokenizer(directory: str | Path) -> GptTokenizer:
    """The tokenizer saved in a GPT model directory; checks that its vocabulary is ours.

    Raises
    ------
    ValueError
        Naming the file, when ``vocab.txt`` or ``tokenizer_config.json`` is missing or differs.
    """
    d = Path(directory)
    cfg_path, vocab_path = d / "tokenizer_config.json", d / "vocab.txt"
    for p in (cfg_path, vocab_path):
        if not p.is_file():
            raise ValueError(f"{p}: missing (not a dnalm GPT model directory)")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{cfg_path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if cfg.get("kmer") != K or cfg.get("alphabet") != ALPHABET:
        raise ValueError(f"{cfg_path}:1: expected kmer {K} and alphabet {ALPHABET}, got "
                         f"{cfg.get('kmer')!r} and {cfg.get('alphabet')!r}")
    tok = GptTokenizer(int(cfg.get("model_max_length", 512)))
    lines = vocab_path.read_text().splitlines()
    for i, (got, want) in enumerate(zip(lines, tok.vocab, strict=False)):
        if got != want:
            raise ValueError(f"{vocab_path}:{i + 1}: token {got!r}, expected {want!r}")
    if len(lines) != VOCAB_SIZE:
        raise ValueError(f"{vocab_path}:{len(lines)}: {len(lines)} tokens, expected {VOCAB_SIZE}")
    return tok
