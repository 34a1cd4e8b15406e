"""A trained second opinion for the rules: a linear model over word and letter n-grams, learnt
from the project's own labelled comments (``eval/dev.jsonl``).

The rules (``rules.toml``) fit the wording they were written from; the model generalises a little
further, to new wording of the same meaning. It gives the probability of each action (escalate,
hide, reply, none) and its likeliest category within each. ``engine.classify`` combines the two
so that safety wins (see ``engine._second_opinion``): a risk probability above the LOW
``ESCALATE_THRESHOLD`` escalates, a hide probability above the HIGH ``HIDE_THRESHOLD`` may add a
hide only where there is no sign of risk (both thresholds are in ``engine.py``, chosen by
``train --cv``).

Nothing is downloaded: the model is trained here, in seconds, from files in the repository. It is
kept under ``var/moderation/`` (``AGENCY_DATA_DIR`` moves it, like the embedded database) and
rebuilt on first use whenever it is missing or was trained from other inputs (its fingerprint:
the labelled set, the brand copy, this module, the engine, the rules and scikit-learn's
version), so a fresh machine or a test run never needs a separate step; ``bin/setup`` trains it
once so that the first request does not wait. The file is a pickle written by this module only
and read from the project's own data folder, never from anywhere a user can write.

``python -m campaigns.conversations.moderation.train --cv`` cross-validates on dev and prints
how the thresholds in ``engine.py`` were chosen.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path

from agency.database import data_dir
from approvals.sensitivity.evaluation import load as load_posts
from campaigns.conversations.moderation import engine
from campaigns.conversations.moderation.engine import (
    CATEGORIES,
    HIDE,
    Opinion,
    classify,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
TRAINING_SET = HERE / "eval" / "dev.jsonl"
BRAND_COPY = ROOT / "approvals" / "sensitivity" / "eval" / "dev.jsonl"
# How strongly the model is fitted (inverse regularisation), and the folds of the cross-check.
STRENGTH = 10.0
FOLDS = 5
SEED = 0

# Words, and each other symbol (emoji, "?", "!") as a word of its own.
WORDS = r"(?u)\b\w+\b|[^\w\s]"


def model_path() -> Path:
    return data_dir(ROOT) / "moderation" / "model.pkl"


def fingerprint() -> str:
    """What the model is trained from: if any of it changes, the model is trained again."""
    import sklearn

    digest = hashlib.sha256(sklearn.__version__.encode())
    for path in (TRAINING_SET, BRAND_COPY, HERE / "model.py", HERE / "engine.py",
                 HERE / "rules.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def prepare(text: str) -> str:
    """The text the model reads: the engine's normalisation (curly quotes, letters hidden
    behind symbols or spaces written out), lowercased."""
    return engine._normalise(text).lower()


def brand_copy() -> list[str]:
    """Everyday brand copy and alt text (the sensitivity linter's dev set), as examples of
    nothing to act on, except what the rules hide (a real slur). Without them the model has
    seen only short comments and reads any longer, descriptive text as something: on the
    sensitivity linter's held-out posts it escalated 183 of 396 and hid 33 before they were
    added (21 and 2 after)."""
    return [text for item in load_posts(BRAND_COPY) for text in item.texts.values()
            if classify(text, second_opinion=False).action != HIDE]


def training_data(path: Path = TRAINING_SET, *, with_brand_copy: bool = True,
                  ) -> tuple[list[str], list[str], list[str]]:
    """Texts, actions, and each comment's main category (its first one of its action): dev's
    comments, then (``with_brand_copy``) brand copy as chatter."""
    texts, actions, categories = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        texts.append(prepare(data["text"]))
        actions.append(data["action"])
        categories.append(next(c for c in data["categories"] if CATEGORIES[c] == data["action"]))
    if with_brand_copy:
        copy = [prepare(text) for text in brand_copy()]
        texts += copy
        actions += ["none"] * len(copy)
        categories += ["chatter"] * len(copy)
    return texts, actions, categories


def features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                  token_pattern=WORDS)),
        ("letters", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                    min_df=2)),
    ])


def classifier():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=STRENGTH, class_weight="balanced", max_iter=3000)


class Model:
    def __init__(self, vectoriser, actions, categories, print_: str = ""):
        self.vectoriser, self.actions, self.categories = vectoriser, actions, categories
        self.fingerprint = print_

    @classmethod
    def fit(cls, texts: list[str], actions: list[str], categories: list[str]) -> Model:
        vectoriser = features().fit(texts)
        matrix = vectoriser.transform(texts)
        return cls(vectoriser, classifier().fit(matrix, actions),
                   classifier().fit(matrix, categories))

    def _probabilities(self, texts: list[str], which) -> list:
        """``which.predict_proba`` for the texts, computed part by part: each vectoriser's
        columns times its share of the weights, then softmax. The same numbers as
        FeatureUnion.transform + predict_proba, in a third of the time (no stacking of the
        parts, no input checks), which matters at one comment per call on ingest."""
        import numpy

        scores = numpy.tile(which.intercept_, (len(texts), 1))
        start = 0
        for _, part in self.vectoriser.transformer_list:
            width = len(part.vocabulary_)
            scores += part.transform(texts) @ which.coef_[:, start:start + width].T
            start += width
        scores -= scores.max(axis=1, keepdims=True)
        exp = numpy.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def opinions(self, texts: list[str], *, categories: bool = True) -> list[Opinion]:
        """Opinions on texts already ``prepare``d; without ``categories`` (half the time) the
        likeliest categories are left for ``likeliest_categories`` when needed."""
        by_action = self._probabilities(texts, self.actions)
        by_category = self.likeliest_categories(texts) if categories else [None] * len(texts)
        action_names = [str(a) for a in self.actions.classes_]
        return [Opinion({a: float(p) for a, p in zip(action_names, row, strict=True)}, best,
                        self.fingerprint[:8], text)
                for row, best, text in zip(by_action, by_category, texts, strict=True)]

    def likeliest_categories(self, texts: list[str]) -> list[dict[str, tuple[str, float]]]:
        """For each text, each action's likeliest category and its probability."""
        names = [str(c) for c in self.categories.classes_]
        out = []
        for row in self._probabilities(texts, self.categories):
            best: dict[str, tuple[str, float]] = {}
            for name, p in zip(names, row, strict=True):
                action = CATEGORIES[name]
                if action not in best or p > best[action][1]:
                    best[action] = (name, float(p))
            out.append(best)
        return out

    def opinion(self, text: str) -> Opinion:
        return self.opinions([prepare(text)])[0]


def train(path: Path | None = None) -> Model:
    """Train on dev and save the model (atomically: a process reading it meanwhile sees the old
    file or the new, never half of one)."""
    path = path or model_path()
    model = Model.fit(*training_data())
    model.fingerprint = fingerprint()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(model, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(temporary, 0o644)  # (mkstemp's 0600 would shut out workers run as another user)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return model


def load(path: Path | None = None) -> Model:
    """The saved model, trained first if it is missing or was trained from other inputs."""
    path = path or model_path()
    try:
        with path.open("rb") as saved:
            model = pickle.load(saved)  # noqa: S301 (written by train() above, in var/)
        if isinstance(model, Model) and model.fingerprint == fingerprint():
            return model
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    return train(path)


def out_of_fold(folds: int = FOLDS) -> dict[str, Opinion]:
    """Every dev comment's opinion from a model trained without it (stratified k-fold by
    action; the brand copy in every fold's training), by the comment's text as written: the
    honest dev figure for the model part."""
    from sklearn.model_selection import StratifiedKFold

    raw = [json.loads(line)["text"] for line in
           TRAINING_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts, actions, categories = training_data(with_brand_copy=False)
    copy = [prepare(text) for text in brand_copy()]
    opinions: dict[str, Opinion] = {}
    split = StratifiedKFold(folds, shuffle=True, random_state=SEED).split(texts, actions)
    for train_rows, test_rows in split:
        model = Model.fit([texts[i] for i in train_rows] + copy,
                          [actions[i] for i in train_rows] + ["none"] * len(copy),
                          [categories[i] for i in train_rows] + ["chatter"] * len(copy))
        model.fingerprint = "oof"
        for row, opinion in zip(test_rows, model.opinions([texts[i] for i in test_rows]),
                                strict=True):
            opinions[raw[row]] = opinion
    return opinions


@functools.cache
def default_model() -> Model:
    """The model, loaded once per process."""
    return load()


engine.use_model(default_model)
