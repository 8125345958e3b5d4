"""dnalm.dataset: the split TSV and card.json contract (round trips, checks, Card fields)."""

import gzip
import json

import pytest
from dnalm.dataset import (
    COLUMNS,
    Card,
    Example,
    dataset_card,
    read_card,
    read_examples,
    read_split,
    write_card,
    write_split,
)

ROWS = [
    Example("ACGTACGTAC", 1, "chr1", 100, 110, "+", "p1", group="g1"),
    Example("TTTTGGGGCC", 0, "chr2", 5, 15, "-", "neg:1"),
    Example("NACGTACGTA", 1),  # synthetic: no coordinates
]


def test_write_read_round_trip(tmp_path):
    p = tmp_path / "train.tsv.gz"
    write_split(ROWS, p)
    raw = p.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # deterministic gzip
    text = gzip.decompress(raw).decode().splitlines()
    assert text[0] == "\t".join(COLUMNS)
    assert text[3] == "NACGTACGTA\t1\t.\t.\t.\t.\t."
    assert read_examples(p) == [ex._replace(group=None) for ex in ROWS]
    df = read_split(p)
    assert list(df.columns) == list(COLUMNS) and df["label"].dtype == "int64"
    assert df["sequence"].tolist() == [ex.sequence for ex in ROWS]
    assert df["start"].tolist() == ["100", "5", "."]
    renamed = tmp_path / "train.tsv"  # gzip found by its magic bytes, not its name
    renamed.write_bytes(raw)
    assert read_split(renamed).equals(df)
    write_split(ROWS, tmp_path / "again.tsv.gz")
    assert (tmp_path / "again.tsv.gz").read_bytes() == raw


def test_empty_split_round_trips_as_examples(tmp_path):
    p = tmp_path / "dev.tsv.gz"
    write_split([], p)
    assert read_examples(p) == []
    with pytest.raises(ValueError, match=rf"^{p}: no rows after the header"):
        read_split(p)


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("sequence\tlabel\nACGT\t1\nACXT\t0\n", 3, "non-ACGTN character 'X'"),
        ("sequence\tlabel\nACGT\t1\nACGT\t-1\n", 3, "label '-1' is not a non-negative integer"),
        ("sequence\tlabel\nACGT\t1\n\t0\n", 3, "empty sequence"),
        ("seq\tlab\nACGT\t1\n", 1, "header lacks column(s)"),
    ],
)
def test_read_split_errors_name_file_and_line(tmp_path, body, where, message):
    p = tmp_path / "bad.tsv"
    p.write_text(body)
    with pytest.raises(ValueError) as err:
        read_split(p)
    assert str(err.value).startswith(f"{p}:{where}: ") and message in str(err.value)


def test_read_examples_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("\t".join(COLUMNS) + "\nACGT\t1\tchr1\tx\t4\t+\ta\n")
    with pytest.raises(ValueError, match=rf"^{p}:2: start 'x' is not an integer or '.'"):
        read_examples(p)
    p.write_text("sequence\tlabel\nACGT\t1\n")
    with pytest.raises(ValueError, match=rf"^{p}:1: expected header"):
        read_examples(p)


def test_truncated_split_names_the_file(tmp_path):
    p = tmp_path / "test.tsv.gz"
    write_split([ROWS[0]] * 5000, p)
    p.write_bytes(p.read_bytes()[:-40])
    with pytest.raises(ValueError, match=rf"^{p}: truncated or corrupt gzip stream"):
        read_split(p)
    with pytest.raises(ValueError, match=rf"^{p}: truncated or corrupt gzip stream"):
        read_examples(p)
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'none.tsv.gz'}: dataset split not found"):
        read_split(tmp_path / "none.tsv.gz")


def _promoter_card(tmp_path, window=(-249, 50), k=None):
    spec = {"kind": "promoter", "genome": "hg38", "window": list(window)}
    if k is not None:
        spec["k"] = k
    n = window[1] - window[0] + 1
    splits = {
        "train": [Example("A" * n, 1), Example("C" * n, 0), Example("G" * n, 1)],
        "dev": [Example("T" * n, 0)],
        "test": [],
    }
    src = tmp_path / "epd.tsv"
    src.write_text("x\n")
    return dataset_card("prom", spec, splits, "genomic", [("epd", src)], {"a": 1}, seed=3)


def test_card_fields_for_a_promoter_task(tmp_path):
    card = _promoter_card(tmp_path)
    assert card["labels"] == [0, 1] and card["n_classes"] == 2
    assert card["window_length"] == 300 and card["tss_offset"] == 249 and card["k"] == 6
    assert card["counts"] == {"train": {"0": 1, "1": 2}, "dev": {"0": 1}, "test": {}}
    assert card["gc_by_class"]["1"]["mean"] == 0.5 and card["sources"][0]["role"] == "epd"
    write_card(card, tmp_path / "prom" / "card.json")
    assert (tmp_path / "prom" / "card.json").read_text().endswith("}\n")
    c = read_card(tmp_path / "prom")  # the task folder or the file
    assert c == read_card(tmp_path / "prom" / "card.json")
    assert isinstance(c, Card)
    assert (c.task, c.kind, c.genome) == ("prom", "promoter", "hg38")
    assert c.labels == (0, 1) and c.n_classes == 2
    assert (c.window_length, c.tss_offset, c.k) == (300, 249, 6)
    assert c.counts["train"] == {"0": 1, "1": 2} and c.raw["seed"] == 3
    core = _promoter_card(tmp_path, window=(-34, 35), k=4)
    assert (core["window_length"], core["tss_offset"], core["k"]) == (70, 34, 4)


def test_card_of_variable_length_non_promoter_task(tmp_path):
    splits = {"train": [Example("ACGTAC", 0), Example("ACGTACG", 2), Example("ACGTACGT", 1)]}
    card = dataset_card("imp", {"kind": "imported"}, splits, None)
    assert card["window_length"] is None and card["tss_offset"] is None
    assert card["labels"] == [0, 1, 2] and card["n_classes"] == 3 and card["genome"] is None
    write_card(card, tmp_path / "card.json")
    c = read_card(tmp_path / "card.json")
    assert (c.window_length, c.tss_offset, c.labels, c.genome) == (None, None, (0, 1, 2), None)


def test_read_card_of_an_older_card_derives_the_new_fields(tmp_path):
    old = _promoter_card(tmp_path)
    for key in ("labels", "n_classes", "window_length", "tss_offset", "k"):
        del old[key]
    (tmp_path / "card.json").write_text(json.dumps(old))
    c = read_card(tmp_path)
    assert (c.labels, c.n_classes, c.window_length, c.tss_offset, c.k) == ((0, 1), 2, 300, 249, 6)


def test_read_card_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'card.json'}: dataset card not found"):
        read_card(tmp_path)
    p = tmp_path / "card.json"
    p.write_text('{"task": "t",\n  oops}')
    with pytest.raises(ValueError, match=rf"^{p}:2: not valid JSON"):
        read_card(p)
    p.write_text('{"task": "t"}')
    with pytest.raises(ValueError, match=rf"^{p}: card lacks key\(s\) \['kind', 'counts'\]"):
        read_card(p)
