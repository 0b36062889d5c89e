"""The learned extractor's model file: a sentence scorer and a length head, JSON, run with numpy.

    >>> model = Scorer.load("builtin")
    >>> model.features[:3], model.max_sentences >= 1
    (['rank_inverse', 'rank_log', 'rank_relative'], True)

What ``summarizer train-extractor`` writes (:mod:`summarizer.train_extractor`) and the
``learned`` extract strategy reads (:mod:`summarizer.learned`). Nothing in the file can run
code when it is loaded: it is JSON, with these keys:

- ``format`` (:data:`FORMAT`) and ``version``: what the loader checks first (version 1: each
  network is one multilayer perceptron; version 2, :data:`VERSION`: a network may also be an
  ensemble, ``{"members": [...]}``, whose output is the mean of its members' outputs; a file
  is written with the lowest version that holds it, so older readers keep reading what they can);
- ``features``: the names of the columns of :func:`summarizer.features.sentence_features` the
  scorer reads, in its order, and ``lexicon``: term -> weight, the lexicon features' table;
- ``scorer``: ``mean`` and ``scale`` (the standardisation of the features) and ``layers``, a
  multilayer perceptron as ``{"weight": [[...]], "bias": [...]}`` per layer (torch's
  ``Linear`` layout: one row per output), ReLU between layers; the last layer's one output,
  through a sigmoid, is the probability that the sentence belongs in the summary;
- ``length``: the length head, the same kind of network over :data:`LENGTH_FEATURES` of each
  possible length ``k = 1 .. max_sentences``: the length with the highest output is the number
  of sentences the document gets (unless ``extract.max_sentences`` fixes it);
- ``metadata``: how it was trained and what it scored on held-out pairs (for people; not read).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .errors import ModelError
from .features import FEATURES, sentence_features
from .records import Record

FORMAT = "summarizer-extractor"
VERSION = 2
READABLE = (1, 2)
# extract.scorer = "builtin": the model trained by `make extractor`, shipped in the package.
BUILTIN = "builtin"
BUILTIN_FILE = Path(__file__).resolve().parent / "trained" / "extractor" / "model.json"

# What the length head sees of one possible length k: k itself, how many tokens the k best
# sentences take (all of them, and what the token budget lets through), how sure the scorer is
# of the k-th and of the k best on average, and the document's own features.
LENGTH_FEATURES = ("k", "k_log", "tokens_log", "budget_tokens_log", "probability_k", "probability_mean",
                   *[name for name in FEATURES if name.startswith("doc_")])
_DOC_COLUMNS = [FEATURES.index(name) for name in LENGTH_FEATURES if name.startswith("doc_")]
_FIX = ("write one with `summarizer train-extractor PAIRS... -o MODEL.json`, or use the shipped model "
        "(extract.scorer = \"builtin\")")


@dataclass
class Network:
    """A multilayer perceptron over standardised inputs: ReLU between layers, one output."""

    mean: Any
    scale: Any
    layers: list[tuple[Any, Any]]

    def __call__(self, x):
        import numpy as np

        h = (np.asarray(x, dtype=float) - self.mean) / self.scale
        for number, (weight, bias) in enumerate(self.layers):
            h = h @ weight.T + bias
            if number < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h[..., 0]

    def to_dict(self) -> dict:
        return {"mean": _rounded(self.mean), "scale": _rounded(self.scale),
                "layers": [{"weight": _rounded(w), "bias": _rounded(b)} for w, b in self.layers]}

    @classmethod
    def from_dict(cls, data: Any, inputs: int, where: str) -> "Network":
        import numpy as np

        try:
            mean = np.asarray(data["mean"], dtype=float)
            scale = np.asarray(data["scale"], dtype=float)
            layers = [(np.asarray(layer["weight"], dtype=float), np.asarray(layer["bias"], dtype=float))
                      for layer in data["layers"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{where} is not a network of numbers ({type(exc).__name__}: {exc}); {_FIX}.") from None
        width = inputs
        shapes_ok = mean.shape == scale.shape == (inputs,) and bool(layers) and np.all(scale > 0)
        for weight, bias in layers:
            shapes_ok = shapes_ok and weight.ndim == 2 and weight.shape[1] == width and bias.shape == (weight.shape[0],)
            width = weight.shape[0] if weight.ndim == 2 else -1
        if not shapes_ok or width != 1:
            raise ModelError(f"{where} has layers whose shapes do not fit {inputs} inputs and one output; {_FIX}.")
        if not all(np.all(np.isfinite(a)) for pair in layers for a in pair):
            raise ModelError(f"{where} has weights that are not finite numbers; {_FIX}.")
        return cls(mean, scale, layers)


@dataclass
class Ensemble:
    """Networks trained alike from different seeds: the output is the mean of theirs. A single
    small network's choices move with its seed (on held-out BBC by 10 ROUGE-1 points between
    two seeds); the mean of several moves far less."""

    members: list[Network]

    def __call__(self, x):
        return sum(member(x) for member in self.members) / len(self.members)

    def to_dict(self) -> dict:
        return {"members": [member.to_dict() for member in self.members]}


def combine(members: Sequence[Network]) -> "Network | Ensemble":
    """One network, or the ensemble of several."""
    return members[0] if len(members) == 1 else Ensemble(list(members))


def network_from_dict(data: Any, inputs: int, where: str, version: int) -> "Network | Ensemble":
    """A network of the file: an ensemble (``{"members": [...]}``, version 2) or a single one."""
    if version >= 2 and isinstance(data, dict) and "members" in data:
        members = data["members"]
        if not isinstance(members, list) or not members:
            raise ModelError(f"{where}: members is not a list of networks; {_FIX}.")
        return combine([Network.from_dict(m, inputs, f"{where}, member {i + 1}") for i, m in enumerate(members)])
    return Network.from_dict(data, inputs, where)


@dataclass
class Scorer:
    """A loaded model file: the sentence scorer, the length head, the lexicon."""

    features: list[str]
    scorer: Network | Ensemble
    length: Network | Ensemble
    max_sentences: int
    lexicon: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def probabilities(self, record: Record, candidates: Sequence[int]):
        """The probability that each candidate sentence belongs in the summary."""
        import numpy as np

        x = sentence_features(record, candidates, self.lexicon)
        if not len(candidates):
            return np.zeros(0), x
        columns = [FEATURES.index(name) for name in self.features]
        return 1 / (1 + np.exp(-self.scorer(x[:, columns]))), x

    def sentences(self, probabilities, tokens: Sequence[int], budget: int, features) -> int:
        """How many sentences the document gets: the length head's best ``k``, among those
        the budget leaves room for (at least one)."""
        import numpy as np

        if not len(probabilities):
            return 0
        rows = length_features(probabilities, tokens, budget, features, self.max_sentences)
        feasible = min(len(picked_order(probabilities, tokens, budget)), self.max_sentences)
        return int(np.argmax(self.length(rows)[:max(feasible, 1)])) + 1

    @property
    def version(self) -> int:
        """The lowest file version that holds this model: 2 only where a network is an ensemble."""
        return 2 if isinstance(self.scorer, Ensemble) or isinstance(self.length, Ensemble) else 1

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": self.version, "features": list(self.features),
                "scorer": self.scorer.to_dict(),
                "length": {"max_sentences": self.max_sentences, "features": list(LENGTH_FEATURES),
                           **self.length.to_dict()},
                "lexicon": {term: round(weight, 3) for term, weight in sorted(self.lexicon.items())},
                "metadata": self.metadata}

    def save(self, path: str | Path) -> Path:
        """Write the model file (atomically: a reader never sees half of it)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n",
                           encoding="utf-8")
        partial.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "Scorer":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ModelError(f"{where} is not an extractor model: its format is {found!r}, not {FORMAT!r}; {_FIX}.")
        version = data.get("version")
        if isinstance(version, bool) or version not in READABLE:
            newer = isinstance(version, int) and version > VERSION
            hint = ("it was written by a newer summarizer: upgrade summarizer, or " if newer
                    else f"this summarizer reads versions {' and '.join(map(str, READABLE))}: ")
            raise ModelError(f"{where} is extractor model version {version!r}; {hint}{_FIX}.")
        features = data.get("features")
        if not isinstance(features, list) or not features or any(name not in FEATURES for name in features):
            unknown = [name for name in features or [] if name not in FEATURES] if isinstance(features, list) else features
            raise ModelError(f"{where} names features this summarizer does not compute ({unknown!r}); known "
                             f"features: {', '.join(FEATURES)}. Upgrade summarizer, or {_FIX}.")
        length = data.get("length")
        if not isinstance(length, dict) or list(length.get("features") or []) != list(LENGTH_FEATURES):
            raise ModelError(f"{where} has no length head over this summarizer's length features "
                             f"({', '.join(LENGTH_FEATURES)}); {_FIX}.")
        top = length.get("max_sentences")
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ModelError(f"{where}: length.max_sentences = {top!r} is not a whole number >= 1; {_FIX}.")
        lexicon = data.get("lexicon") or {}
        if not isinstance(lexicon, dict) or not all(isinstance(w, (int, float)) and math.isfinite(w)
                                                    for w in lexicon.values()):
            raise ModelError(f"{where}: the lexicon is not a table of terms and numbers; {_FIX}.")
        return cls(features=list(features),
                   scorer=network_from_dict(data.get("scorer"), len(features), f"{where}: scorer", version),
                   length=network_from_dict(length, len(LENGTH_FEATURES), f"{where}: length head", version),
                   max_sentences=top, lexicon={str(k): float(v) for k, v in lexicon.items()},
                   metadata=data.get("metadata") or {}, source=where)

    @classmethod
    def load(cls, spec: str = BUILTIN) -> "Scorer":
        """The model ``spec`` names: ``"builtin"`` (the shipped one) or a path to a model file.
        Loaded once per file version (path, size and modification time)."""
        path = resolve(spec)
        try:
            info = path.stat()
        except OSError as exc:
            raise ModelError(f"extractor model {spec!r} cannot be read ({exc.strerror or exc}); {_FIX}.") from None
        key = (str(path), info.st_size, info.st_mtime_ns)
        if key not in _CACHE:
            _CACHE.clear()  # one model in use at a time, as a rule: keep memory flat
            _CACHE[key] = cls.from_dict(_read_json(path, spec), f"extractor model {path}")
        return _CACHE[key]


_CACHE: dict[tuple, Scorer] = {}


def resolve(spec: str) -> Path:
    """The file ``extract.scorer`` names."""
    return BUILTIN_FILE if spec == BUILTIN else Path(spec).expanduser()


def digest(spec: str) -> str | None:
    """SHA-256 of the model file (None when it cannot be read): a run's fingerprint holds it,
    so a model file trained again under the same name is not mistaken for the old one."""
    try:
        return hashlib.sha256(resolve(spec).read_bytes()).hexdigest()
    except OSError:
        return None


def problem(spec: str) -> str | None:
    """What is wrong with the model file ``spec`` (a phrase for a settings message), or None.
    The shipped model is not read here: every pipeline is checked, learned or not, and the
    tests load the shipped file."""
    if spec == BUILTIN:
        return None
    try:
        Scorer.load(spec)
    except ModelError as exc:
        return f"cannot be used: {str(exc).rstrip('.')}"
    return None


def picked_order(probabilities, tokens: Sequence[int], budget: int) -> list[int]:
    """Candidates in score order as the budget lets them through (one that does not fit is
    skipped, a later shorter one may still fit; the best is always taken): what the length
    head counts on, without the redundancy control of the selection itself."""
    order = sorted(range(len(probabilities)), key=lambda i: (-probabilities[i], i))
    taken, used = [], 0
    for i in order:
        if budget and taken and used + tokens[i] > budget:
            continue
        taken.append(i)
        used += tokens[i]
    return taken


def length_features(probabilities, tokens: Sequence[int], budget: int, features, max_sentences: int):
    """One row of :data:`LENGTH_FEATURES` per length ``k = 1 .. max_sentences``."""
    import numpy as np

    order = sorted(range(len(probabilities)), key=lambda i: (-probabilities[i], i))
    within = picked_order(probabilities, tokens, budget)
    doc = np.asarray(features)[0, _DOC_COLUMNS] if len(features) else np.zeros(len(_DOC_COLUMNS))
    rows = []
    for k in range(1, max_sentences + 1):
        best = order[:k]
        rows.append([k, math.log(k), math.log1p(sum(tokens[i] for i in best)),
                     math.log1p(sum(tokens[i] for i in within[:k])), float(probabilities[best[-1]]),
                     float(np.mean([probabilities[i] for i in best])), *doc])
    return np.asarray(rows, dtype=float)


def _read_json(path: Path, spec: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"extractor model {path} cannot be read ({getattr(exc, 'strerror', None) or exc}); "
                         f"{_FIX}.") from None
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"extractor model {path} is not JSON ({exc}); {_FIX}.") from None


def _rounded(array) -> list:
    import numpy as np

    # Six significant digits: the scores move by far less than a selection can tell apart.
    return np.vectorize(lambda v: float(f"{v:.6g}"), otypes=[float])(np.asarray(array, dtype=float)).tolist()
