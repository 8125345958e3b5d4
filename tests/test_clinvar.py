"""dnalm.clinvar: exact CLNSIG terms, both Conflicting spellings, commas, stars."""

import pytest
from dnalm import clinvar as cv


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Pathogenic", "pathogenic"),
        ("Likely_pathogenic", "pathogenic"),
        ("Pathogenic/Likely_pathogenic", "pathogenic"),
        ("Pathogenic|risk_factor", "pathogenic"),
        (("Pathogenic", "_low_penetrance"), "pathogenic"),  # pysam tuple of "Pathogenic,_low_penetrance"
        ("Benign", "benign"),
        ("Likely_benign", "benign"),
        ("Benign/Likely_benign", "benign"),
        ("Uncertain_significance", "uncertain"),
        ("Conflicting_interpretations_of_pathogenicity", "conflicting"),
        ("Conflicting_classifications_of_pathogenicity", "conflicting"),
        ("Conflicting_classifications_of_pathogenicity|risk_factor", "conflicting"),
        ("Pathogenic/Benign", "conflicting"),
        ("risk_factor", "other"),
        ("drug_response", "other"),
        ("not_provided", "other"),
        (None, "missing"),
        (".", "missing"),
    ],
)
def test_clinsig_class(value, expected):
    assert cv.clinsig_class(value) == expected


def test_substring_is_not_a_match():
    # a substring test would see "pathogenic" inside these
    assert cv.clinsig_class("Conflicting_interpretations_of_pathogenicity") != "pathogenic"
    assert cv.clinsig_class("Pathogenicity_unknown") == "other"
    assert cv.clinsig_class("Likely_pathogenic_variant") == "other"


def test_terms_split_on_slash_pipe_and_comma_underscore():
    assert cv.clnsig_terms("Pathogenic/Likely_pathogenic|risk_factor") == (
        "Pathogenic", "Likely_pathogenic", "risk_factor")
    assert cv.clnsig_terms("Pathogenic,_low_penetrance") == ("Pathogenic", "low_penetrance")
    assert cv.clnsig_terms(("Pathogenic", "_low_penetrance")) == ("Pathogenic", "low_penetrance")
    assert cv.clnsig_terms("") == ()


def test_info_text_rejoins_tuples():
    assert cv.info_text(("criteria_provided", "_multiple_submitters", "_no_conflicts")) == (
        "criteria_provided,_multiple_submitters,_no_conflicts")
    assert cv.info_text(None) == ""
    assert cv.info_text(True) == "1"
    assert cv.info_text(42) == "42"


@pytest.mark.parametrize(
    ("value", "stars"),
    [
        ("practice_guideline", 4),
        ("reviewed_by_expert_panel", 3),
        (("criteria_provided", "_multiple_submitters", "_no_conflicts"), 2),
        ("criteria_provided,_single_submitter", 1),
        ("criteria_provided,_conflicting_interpretations", 1),
        ("criteria_provided,_conflicting_classifications", 1),
        ("no_assertion_criteria_provided", 0),
        ("no_classification_provided", 0),
        ("something_new", None),
    ],
)
def test_review_stars(value, stars):
    assert cv.review_stars(value) == stars


def test_class_counts_has_every_class():
    c = cv.class_counts(["pathogenic", "benign", "pathogenic"])
    assert c["pathogenic"] == 2 and c["benign"] == 1 and c["conflicting"] == 0
