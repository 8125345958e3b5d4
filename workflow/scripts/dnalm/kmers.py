"""Overlapping k-mer tokenization with DNABERT's exact vocabulary.

The vocabulary is ``[PAD] [UNK] [CLS] [SEP] [MASK]`` followed by all 4**k k-mers in
``itertools.product("ATCG", repeat=k)`` order, so ``AAAAAA`` is id 5 and ``GGGGGG`` is
id 4100 for k=6. Tokenization is vectorised: a sequence becomes a uint8 code array
(A=0, T=1, C=2, G=3, anything else 4) and k-mer ids are a rolling base-4 sum. A k-mer
that contains a non-ACGT base maps to ``[UNK]``.

Unlike DNABERT's ``get_kmer_sentence``, an L-bp sequence always yields L-k+1 tokens:
the last k-mer is never dropped.

Model directories also carry a ``tokenizer.json`` (:func:`hf_tokenizer_json`) so that
``transformers.AutoTokenizer.from_pretrained(directory)`` applied to a raw DNA string, in any
case, gives exactly these ids; it is about 50x slower than :func:`encode_batch`.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dnalm._validate import validate_k

__all__ = [
    "ALPHABET",
    "SPECIAL_TOKENS",
    "PAD_ID",
    "UNK_ID",
    "CLS_ID",
    "SEP_ID",
    "MASK_ID",
    "N_SPECIAL",
    "vocab",
    "vocab_size",
    "vocab_text",
    "seq2kmer",
    "kmer2seq",
    "seq_to_codes",
    "codes_to_ids",
    "encode",
    "encode_batch",
    "decode",
    "hf_tokenizer_json",
    "write_tokenizer_files",
    "KmerTokenizer",
    "load_tokenizer",
    "hf_tokenizer",
]

ALPHABET = "ATCG"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(5)
N_SPECIAL = len(SPECIAL_TOKENS)

# ASCII -> code lookup. Lower-case (soft-masked) bases are upper-cased for modelling.
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(ALPHABET):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
_CODE_TABLE = _CODE.tobytes()  # the same map as a bytes.translate table


def vocab(k: int) -> list[str]:
    """Return DNABERT's vocabulary for ``k``: 5 special tokens then 4**k k-mers (ATCG order)."""
    validate_k(k)
    return list(SPECIAL_TOKENS) + ["".join(p) for p in itertools.product(ALPHABET, repeat=k)]


def vocab_size(k: int) -> int:
    """Number of tokens in the k-mer vocabulary (69, 261, 1029, 4101 for k = 3..6)."""
    validate_k(k)
    return 4**k + N_SPECIAL


def vocab_text(k: int) -> str:
    """The exact bytes of DNABERT's ``vocab.txt``: only the k=6 file ends with a newline."""
    text = "\n".join(vocab(k))
    return text + "\n" if k == 6 else text


def seq2kmer(seq: str, k: int) -> str:
    """Space-separated overlapping k-mers (L-k+1 of them), as DNABERT's ``seq2kmer``."""
    validate_k(k)
    if len(seq) < k:
        raise ValueError(f"`seq` has length {len(seq)}, shorter than k={k}")
    return " ".join(seq[i : i + k] for i in range(len(seq) - k + 1))


def kmer2seq(kmers: str | Sequence[str]) -> str:
    """Rebuild a sequence from overlapping k-mers: first base of each, then the last k-mer's tail.

    Raises ``ValueError`` when adjacent k-mers do not overlap consistently.
    """
    toks = kmers.split() if isinstance(kmers, str) else list(kmers)
    if not toks:
        raise ValueError("`kmers` is empty")
    k = len(toks[0])
    for i in range(1, len(toks)):
        if len(toks[i]) != k:
            raise ValueError(f"`kmers` token {i} has length {len(toks[i])}, expected {k}")
        if toks[i - 1][1:] != toks[i][:-1]:
            raise ValueError(
                f"`kmers` tokens {i - 1} and {i} do not overlap: {toks[i - 1]!r} then {toks[i]!r}"
            )
    return "".join(t[0] for t in toks) + toks[-1][1:]


def seq_to_codes(seq: str | bytes | np.ndarray) -> np.ndarray:
    """Map a sequence to uint8 codes A=0, T=1, C=2, G=3, other=4 (case-insensitive).

    Parameters
    ----------
    seq : str, bytes or numpy.ndarray of uint8 ASCII, shape=(L,)

    Returns
    -------
    codes : numpy.ndarray, shape=(L,), dtype=uint8
    """
    if isinstance(seq, str):
        seq = seq.encode("ascii", "replace")
    if isinstance(seq, bytes | bytearray):  # bytes.translate: about 2x faster than indexing
        return np.frombuffer(seq.translate(_CODE_TABLE), dtype=np.uint8).copy()
    if isinstance(seq, memoryview):
        arr = np.frombuffer(seq, dtype=np.uint8)
    else:
        arr = np.asarray(seq, dtype=np.uint8)
    return _CODE[arr]


def codes_to_ids(codes: np.ndarray, k: int) -> np.ndarray:
    """Token ids (without specials) of all overlapping k-mers of a code array.

    Parameters
    ----------
    codes : numpy.ndarray, shape=(L,), dtype=uint8
        Base codes from :func:`seq_to_codes` (values 0..4, 4 = unknown base).
    k : int

    Returns
    -------
    ids : numpy.ndarray, shape=(L-k+1,), dtype=int64
        ``[UNK]`` (1) for every k-mer that covers an unknown base; empty if L < k.
    """
    validate_k(k)
    codes = np.asarray(codes, dtype=np.uint8)
    n = codes.shape[0] - k + 1
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    # uint16 in-place passes (4**6 ids fit); the [UNK] mask is only built when needed
    bad = codes > 3
    has_bad = bool(bad.any())
    c = codes.astype(np.uint16)
    if has_bad:
        c[bad] = 0
    ids = c[:n].copy()
    for j in range(1, k):  # k <= 6 vectorised passes, no per-k-mer Python loop
        ids <<= 2
        ids += c[j : j + n]
    out = ids.astype(np.int64)
    out += N_SPECIAL
    if has_bad:
        covers_bad = bad[:n].copy()
        for j in range(1, k):
            covers_bad |= bad[j : j + n]
        out[covers_bad] = UNK_ID
    return out


def encode(seq: str | bytes | np.ndarray, k: int, add_special: bool = False) -> np.ndarray:
    """Token ids of one sequence, optionally wrapped as ``[CLS] ... [SEP]``."""
    ids = codes_to_ids(seq_to_codes(seq), k)
    if add_special:
        ids = np.concatenate([[CLS_ID], ids, [SEP_ID]]).astype(np.int64)
    return ids


def encode_batch(
    seqs: Iterable[str | bytes | np.ndarray],
    k: int,
    max_tokens: int | None = None,
    pad_to: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Encode sequences as ``[CLS] kmers [SEP]``, right-padded with ``[PAD]``.

    Parameters
    ----------
    seqs : iterable of str
    k : int
    max_tokens : int, optional
        Maximum tokens per row including specials. A longer sequence raises ``ValueError``
        (DNABERT silently truncated). Default is None (no limit).
    pad_to : int, optional
        Pad every row to this length. Default is the longest row.

    Returns
    -------
    input_ids : numpy.ndarray, shape=(n, T), dtype=int64
    attention_mask : numpy.ndarray, shape=(n, T), dtype=int64
    """
    validate_k(k)
    seq_list = [s if isinstance(s, str | bytes | bytearray) else bytes(np.asarray(s, np.uint8))
                for s in seqs]
    lens = np.fromiter((len(s) for s in seq_list), dtype=np.int64, count=len(seq_list))
    n_tok = np.where(lens >= k, lens - k + 1, 0) + 2  # [CLS] ... [SEP]
    if max_tokens is not None:
        over = np.flatnonzero(n_tok > max_tokens)
        if over.size:
            i = int(over[0])
            raise ValueError(
                f"`seqs`[{i}] needs {n_tok[i]} tokens, more than max_tokens={max_tokens}; "
                "split long inputs explicitly"
            )
    longest = int(n_tok.max()) if n_tok.size else 0
    if pad_to is not None and pad_to < longest:
        raise ValueError(f"`pad_to`={pad_to} is shorter than the longest row ({longest} tokens)")
    width = longest if pad_to is None else pad_to
    ids = np.full((len(seq_list), width), PAD_ID, dtype=np.int64)
    mask = (np.arange(width)[None, :] < n_tok[:, None]).astype(np.int64)
    if not seq_list:
        return ids, mask
    # One vectorised pass over all sequences joined by an unknown base: k-mers that would span
    # two sequences are never read, so each row is exactly codes_to_ids of its own sequence.
    joined = seq_to_codes(b"N".join(s.encode("ascii", "replace") if isinstance(s, str) else bytes(s)
                                    for s in seq_list))
    all_ids = codes_to_ids(joined, k)
    starts = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
    rows_idx = np.arange(len(seq_list))
    ids[rows_idx, 0] = CLS_ID
    ids[rows_idx, n_tok - 1] = SEP_ID
    real = n_tok - 2
    if real.sum():
        r = np.repeat(rows_idx, real)
        within = np.arange(int(real.sum())) - np.repeat(np.cumsum(real) - real, real)
        ids[r, within + 1] = all_ids[np.repeat(starts, real) + within]
    return ids, mask


def decode(ids: Sequence[int] | np.ndarray, k: int) -> list[str]:
    """Token strings for ids (specials included)."""
    v = vocab(k)
    return [v[int(i)] for i in ids]


def hf_tokenizer_json(k: int) -> str:
    """A Hugging Face ``tokenizer.json`` that k-merises raw DNA into :func:`encode`'s ids.

    The ``tokenizers`` library has no overlapping-k-mer pre-tokenizer, and its ``Replace``
    normalizer inserts literal text only (no back-references), so the k-mers are built by a
    normalizer sequence of regex replacements (``j`` = 1..k-1 passes of 5 lookahead rules):

    1. every character other than ``ACGTacgt`` becomes ``N``; then upper case;
    2. pass ``j`` appends, after each base (an upper-case "anchor"), the lower-case base ``j``
       anchors further on, so each anchor grows into its k-mer (``A`` -> ``Acg`` for k=3);
    3. the last k-1 anchors (too few bases follow: no complete k-mer) are deleted, a space is
       put before every other anchor and the tails are upper-cased.

    The ``WhitespaceSplit`` pre-tokenizer then yields the L-k+1 k-mers; a ``WordLevel`` model
    with DNABERT's vocabulary maps them (those holding ``N`` to ``[UNK]``) and a template adds
    ``[CLS]``/``[SEP]``.

    Parameters
    ----------
    k : int

    Returns
    -------
    str
        The JSON text (``tokenizers.Tokenizer.to_str``).
    """
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    validate_k(k)
    rep = normalizers.Replace
    steps = [rep(Regex(r"[^ACGTacgt]"), "N")]
    steps += [rep(b.lower(), b) for b in "ACGT"]
    for j in range(1, k):
        for b in "ACGTN":  # after an anchor (not at the start), when the j-th next anchor is b
            pattern = "(?<=.)(?=(?:[ACGTN][acgtn]*){" + str(j - 1) + "}" + b + ")"
            steps.append(rep(Regex(pattern), b.lower()))
    steps.append(rep(Regex("(?:[ACGTN][acgtn]{0," + str(k - 2) + "})+$"), ""))
    steps.append(rep(Regex(r"(?<=.)(?=[ACGTN])"), " "))
    steps += [rep(b.lower(), b) for b in "ACGTN"]
    tok = Tokenizer(WordLevel({t: i for i, t in enumerate(vocab(k))}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)],
    )
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    return tok.to_str()


def write_tokenizer_files(directory: str | Path, k: int, max_len: int = 512) -> None:
    """Write ``vocab.txt`` (byte-identical to DNABERT's) and HF tokenizer files.

    - ``tokenizer.json`` (:func:`hf_tokenizer_json`) with ``tokenizer_class``
      ``PreTrainedTokenizerFast`` in ``tokenizer_config.json``: ``AutoTokenizer.from_pretrained
      (directory)`` on raw DNA (any case, N allowed) gives the ids of :func:`encode` with
      ``add_special=True``; no ``trust_remote_code`` is needed.
    - ``do_lower_case: false``, so ``transformers.BertTokenizer.from_pretrained(directory)``
      on a space-separated k-mer string (DNABERT's ``seq2kmer``) gives the same ids.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "vocab.txt").write_text(vocab_text(k))
    (d / "tokenizer.json").write_text(hf_tokenizer_json(k))
    special = {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }
    (d / "special_tokens_map.json").write_text(json.dumps(special))
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "do_lower_case": False,
        "do_basic_tokenize": True,
        "tokenize_chinese_chars": False,
        "strip_accents": False,
        "model_max_length": max_len,
        "max_len": max_len,
        "kmer": k,
        **special,
    }
    (d / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2))


class KmerTokenizer:
    """DNABERT-compatible k-mer tokenizer loaded from a directory holding ``vocab.txt``.

    The k is inferred from the vocabulary size, as DNABERT's ``DNATokenizer`` does.
    The vocabulary must be DNABERT's (checked), so ids follow :func:`encode`.
    """

    def __init__(self, k: int, max_len: int = 512) -> None:
        self.k = validate_k(k)
        self.max_len = max_len
        self.vocab = vocab(k)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, seq: str, add_special: bool = True) -> np.ndarray:
        return encode(seq, self.k, add_special=add_special)

    def __call__(
        self, seqs: Iterable[str], max_tokens: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return encode_batch(seqs, self.k, max_tokens=max_tokens or self.max_len)

    def save(self, directory: str | Path) -> None:
        write_tokenizer_files(directory, self.k, self.max_len)


def load_tokenizer(directory: str | Path) -> KmerTokenizer:
    """Load a k-mer tokenizer from a DNABERT or dnalm model directory.

    Raises ``ValueError`` naming the file when ``vocab.txt`` is missing or is not a
    DNABERT k-mer vocabulary. A ``tokenizer_config.json`` that asks for lower-casing
    (as DNABERT's own does) is ignored for DNA, with a warning.
    """
    d = Path(directory)
    vpath = d / "vocab.txt"
    if not vpath.is_file():
        raise ValueError(f"{vpath}: no vocab.txt in model directory")
    toks = vpath.read_text().splitlines()
    k = None
    for cand in range(3, 7):
        if len(toks) == vocab_size(cand):
            k = cand
    if k is None or toks != vocab(k):
        raise ValueError(
            f"{vpath}: not a DNABERT k-mer vocabulary ({len(toks)} entries; expected "
            "69, 261, 1029 or 4101 in [PAD] [UNK] [CLS] [SEP] [MASK] + ATCG order)"
        )
    max_len = 512
    cfg_path = d / "tokenizer_config.json"
    if cfg_path.is_file():
        cfg = json.loads(cfg_path.read_text())
        max_len = int(cfg.get("model_max_length", cfg.get("max_len", 512)) or 512)
        max_len = min(max_len, 1_000_000)
        if cfg.get("do_lower_case", False):
            warnings.warn(
                f"{cfg_path}: do_lower_case=true is ignored for DNA k-mers "
                "(lower-casing would map every k-mer to [UNK])",
                UserWarning,
                stacklevel=2,
            )
    return KmerTokenizer(k, max_len=max_len)


def hf_tokenizer(directory: str | Path):  # -> transformers.BertTokenizer
    """A ``transformers.BertTokenizer`` for a k-mer directory, forced to ``do_lower_case=False``."""
    from transformers import BertTokenizer

    tok = load_tokenizer(directory)  # validates the vocab, warns on do_lower_case
    return BertTokenizer(
        vocab={w: i for i, w in enumerate(vocab(tok.k))},
        do_lower_case=False,
        tokenize_chinese_chars=False,
        strip_accents=False,
        model_max_length=tok.max_len,
    )
