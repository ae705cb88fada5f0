"""How a text bounds its figures ("over 20", "about 20", "20"): a claim that drops or changes
the bounding word is not what its evidence says."""

import pytest

from rag.text.bounds import bounds, requalified, stretched

AGREED = "The leaders also signed over 20 cooperation agreements, covering energy and space."


def test_bounds_reads_the_word_before_or_after_each_figure_and_leaves_years_out():
    found = bounds("In 2024 they signed over 20 agreements, 12 accords, 30-odd memos and some $1.5 billion in loans.")
    assert {b.kind for b in found["20"]} == {"more"} and {b.kind for b in found["12"]} == {"exact"}
    assert {b.kind for b in found["30"]} == {"about"} and {b.kind for b in found["1.5"]} == {"about"}
    assert "2024" not in found


@pytest.mark.parametrize("claim", [
    "They signed 20 cooperation agreements.",  # the bound dropped
    "Twenty cooperation agreements were signed.",  # spelled out, the bound dropped
    "They signed fewer than 20 cooperation agreements.",  # the bound turned round
    "They signed up to 20 cooperation agreements.",
])
def test_a_figure_bounded_otherwise_than_the_evidence_is_stretched(claim):
    stretch = stretched(claim, AGREED)
    assert stretch is not None and stretch.value == "20" and stretch.given == ("over 20",)
    assert "over 20" in stretch.describe()


@pytest.mark.parametrize("claim", [
    "They signed more than twenty cooperation agreements.",  # another word for the same bound
    "They signed at least 20 cooperation agreements.",  # weaker, still true
    "They signed about 20 cooperation agreements.",
    "They signed 35 cooperation agreements.",  # another figure: the number checks' business
])
def test_a_bound_the_evidence_bears_out_or_another_figure_is_not_stretched(claim):
    assert stretched(claim, AGREED) is None


def test_a_figure_counting_something_else_is_not_compared():
    # "two" of "the two leaders" is not the "almost two" of the decades
    assert stretched("The two leaders met in Moscow.", "It was almost two decades since the leaders met in Moscow.") is None
    assert stretched("The summit drew 20 leaders.", "The summit drew nearly 20 leaders.") is not None


def test_requalified_puts_the_evidences_bounding_word_back():
    assert requalified("They signed 20 cooperation agreements.", AGREED) == "They signed over 20 cooperation agreements."
    assert requalified("20 cooperation agreements were signed.", AGREED) == "Over 20 cooperation agreements were signed."
    assert requalified("It cost $3 billion.", "It cost nearly $3 billion to build.") == "It cost nearly $3 billion."
    # nothing to put back: the bound is right, the evidence also gives the plain figure, or two ways
    assert requalified("They signed more than 20 agreements.", AGREED) == "They signed more than 20 agreements."
    assert requalified("They signed 20 agreements.", "They signed 20 agreements, over 20 in all.") == "They signed 20 agreements."
    assert requalified("They signed 20 deals.", "Over 20 deals, or nearly 20 deals, were signed.") == "They signed 20 deals."
    assert requalified("They signed 20 deals.", "They signed over 20 deals. The two signed more than 20 deals.") == "They signed over 20 deals."
