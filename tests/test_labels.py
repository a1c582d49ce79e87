"""helpers.labels: the book's words for codes, and how lists of them read in a sentence."""
from helpers import labels


def test_a_list_reads_as_a_sentence_lists():
    assert labels.listed([]) == "" and labels.listed(["a"]) == "a" and labels.listed(iter(["a", "b"])) == "a and b"
    assert labels.listed(["a", "b", "c"]) == "a, b and c" and labels.listed(["a", "b"], "or") == "a or b"


def test_a_label_inside_a_sentence_keeps_its_capitals():
    assert labels.in_sentence("Overall response (CR or PR)") == "overall response (CR or PR)"
