"""The moderation model's sentence encoder (all-MiniLM-L6-v2 in NumPy) gives the vectors
sentence-transformers gives for the same model (``data/minilm_reference.json``, computed once
with sentence-transformers 6.3.0 and PyTorch 2.13.0 on the CPU): emoji, accents, an empty
comment and one past the 256-token limit included."""

import json
from pathlib import Path

import numpy

from campaigns.conversations.moderation.sentences import encode

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json")
                       .read_text(encoding="utf-8"))


def test_vectors_match_sentence_transformers():
    texts = [s["text"] for s in REFERENCE["sentences"]]
    expected = numpy.array([s["vector"] for s in REFERENCE["sentences"]], dtype=numpy.float32)
    got = encode(texts)
    assert got.shape == expected.shape == (len(texts), 384)
    cosine = (got * expected).sum(1) / numpy.linalg.norm(expected, axis=1)
    assert cosine.min() > 0.9999, cosine
    assert numpy.abs(got - expected).max() < 1e-3


def test_a_vector_does_not_depend_on_its_batch():
    """Padding takes no attention: a short comment encoded beside a long one, or alone, gives
    the same vector."""
    short, long = "damn good coffee", "the delivery took two weeks and the box was crushed " * 5
    alone = encode([short])[0]
    together = encode([long, short])[1]
    assert numpy.abs(alone - together).max() < 1e-5

