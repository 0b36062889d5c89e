"""summarizer train-extractor: (article, summary) pairs -> a learned extractor's model file.

    read_pairs -> split -> prepare -> cross_fit_lexicon -> out_of_fold -> fit scorer
    -> fit length head -> save -> evaluate on the held-out pairs -> save with the report

The model scores sentences for the ``learned`` extract strategy (:mod:`summarizer.learned`)
and picks each document's length (:mod:`summarizer.scorer`). Training in brief:

1. **Split**: the pairs of ``heldout`` files, or else a seeded share (``heldout_share``) of
   each input's pairs, are held out: never trained on, only measured.
2. **Prepare** every training pair (:mod:`summarizer.extractor_data`): the pipeline's chunk
   stage and candidate rules, features, oracle labels.
3. **Out of fold**: the pairs are cut into ``folds`` folds; each fold's lexicon features
   come from the other folds' lexicon, and each fold is scored by a scorer fitted on the
   others. The length head learns from these scores: the scores of documents the scorer has
   not seen, like the ones it will meet.
4. **Fit** the scorer on all training pairs, learn the lexicon from all of them, fit the
   length head (:mod:`summarizer.extractor_fit`), and write the model. With ``members`` > 1
   every network (the folds' scorers too) is an ensemble of that many, one per seed.
5. **Measure** on the held-out pairs: lead-1, lead-3 and the pipeline with the new model,
   ROUGE-1/2/Lsum with the project's own evaluation (:mod:`summarizer.evaluation.rouge`,
   the tokenization chosen per input from its references); the gains go into the model's
   metadata and the report.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .config import PipelineConfig, load_pipeline, setting
from .errors import ConfigError, InputError
from .extract import select, tfidf_vectors
from .extractor_data import Example, assign_folds, cross_fit_lexicon, learn_lexicon, prepare
from .extractor_fit import FitSettings, document_weights, fit_length, fit_network, sentence_weights
from .features import FEATURES
from .oracle import extract_score
from .records import Record
from .scorer import FORMAT, LENGTH_FEATURES, Scorer, combine, length_features

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
BASELINES = {"lead1": ("lead3", ["extract.max_sentences=1"]), "lead3": ("lead3", [])}


@dataclass
class ExtractorTraining:
    """The settings of ``summarizer train-extractor`` (its options)."""

    # Share of each input's pairs held out for the report (when no held-out files are given).
    heldout_share: float = setting(0.1, min=0, max=0.9)
    seed: int = 0
    # Folds of the out-of-fold scores the length head learns from (and of the lexicon features).
    folds: int = setting(5, min=2, max=20)
    hidden: int = setting(32, min=2, max=512)
    # Networks averaged in the scorer and in the length head, each from its own seed (seed,
    # seed + 1, ...): one network's choices move with its seed, their mean far less. Training
    # takes about this many times as long.
    members: int = setting(1, min=1, max=16)
    epochs: int = setting(600, min=1)
    learning_rate: float = setting(3e-3, min=0)
    weight_decay: float = setting(1e-3, min=0)
    # The greedy oracle stops at this many sentences.
    oracle_sentences: int = setting(5, min=1, max=50)
    # Share of the oracle label in a sentence's target; the rest is its own relative ROUGE.
    oracle_share: float = setting(0.5, min=0, max=1)
    # The longest summary the length head may choose, in sentences.
    max_sentences: int = setting(5, min=1, max=50)
    # Lexicon terms seen in fewer training articles than this are left out.
    min_term_documents: int = setting(3, min=1)


@dataclass
class TrainResult:
    output: Path
    model: Scorer
    report: dict[str, Any] = field(default_factory=dict)


def train_extractor(pairs: Sequence[str | Path], output: str | Path, heldout: Sequence[str | Path] = (),
                    pipeline: str = "extractive", overrides: Sequence[str] = (),
                    settings: ExtractorTraining | None = None, text_field: str | None = None,
                    reference_field: str | None = None, say: Callable[[str], None] | None = None,
                    progress: bool | None = None) -> TrainResult:
    """Train a model on ``pairs`` (tables or folders with article and summary) and write it to
    ``output`` (see the module's text). ``pipeline`` and ``overrides`` give the chunk and
    candidate settings the model is trained for and the extract settings it is measured
    with. ``say`` receives the progress lines (none by default)."""
    settings = settings or ExtractorTraining()
    _check(settings)
    started = time.perf_counter()
    say = _timed(say or (lambda line: None), started)
    config = load_pipeline(pipeline, list(overrides))

    records = read_pairs(pairs, text_field, reference_field)
    if heldout:
        held = read_pairs(heldout, text_field, reference_field)
        train = _without(records, held)
    else:
        train, held = split(records, settings.heldout_share, settings.seed)
    say(f"pairs: {len(train)} for training, {len(held)} held out")
    examples = list(prepare(train, config, settings.oracle_sentences, _bar(len(train), progress)))
    if len(examples) < settings.folds:
        raise InputError(f"only {len(examples)} training pairs have both an article and a summary; train-extractor "
                         f"needs at least --folds ({settings.folds}), and a few hundred to learn much: give more pairs.")
    say(f"examples: {len(examples)} documents, {sum(len(e.texts) for e in examples)} candidate sentences")

    fold_of = assign_folds(examples, settings.folds, settings.seed)
    cross_fit_lexicon(examples, fold_of, settings.folds, settings.min_term_documents)
    fit = FitSettings(settings.hidden, settings.epochs, settings.learning_rate, settings.weight_decay, settings.seed)
    scores = out_of_fold(examples, fold_of, settings, fit, say)
    network, scorer_losses = fit_scorer(examples, settings, fit)
    say(f"scorer: loss {scorer_losses[0]:.4f} -> {scorer_losses[-1]:.4f}")
    lexicon = learn_lexicon(examples, settings.min_term_documents)
    rows, rewards = length_table(examples, scores, config, settings.max_sentences)
    weights = document_weights([e.group for e in examples])
    length, length_losses = _members(settings, fit, lambda member: fit_length(rows, rewards, weights, member))
    say(f"length head: expected reward {-length_losses[0]:.4f} -> {-length_losses[-1]:.4f}")

    model = Scorer(features=list(FEATURES), scorer=network, length=length, max_sentences=settings.max_sentences,
                   lexicon=lexicon)
    model.metadata = _metadata(examples, train, held, config, settings, scorer_losses, length_losses)
    model.metadata["format"] = f"{FORMAT} {model.version}"
    path = model.save(output)
    report = evaluate(held, pipeline, overrides, path, say) if held else {}
    model.metadata["heldout"] = report
    model.metadata["seconds"] = round(time.perf_counter() - started, 1)
    model.save(path)
    return TrainResult(path, model, report)


def _timed(say: Callable[[str], None], started: float) -> Callable[[str], None]:
    """``say`` with the seconds since the start before each line."""
    return lambda line: say(f"[{time.perf_counter() - started:6.1f} s] {line}")


def _check(settings: ExtractorTraining) -> None:
    from .config import problems

    found = problems(settings, "train-extractor", fixes=False)
    if found:
        raise ConfigError("; ".join(found) + ".")


def read_pairs(paths: Iterable[str | Path], text_field: str | None, reference_field: str | None) -> list[Record]:
    """The pairs of ``paths`` (what ``summarizer ingest`` reads); a file that cannot be read
    as a whole raises InputError, a record that failed is left out."""
    from .ingest import ingest

    return [record for record in ingest([str(p) for p in paths], text_field, reference_field)
            if record.error is None]


def split(records: Sequence[Record], share: float, seed: int) -> tuple[list[Record], list[Record]]:
    """(training, held out): a seeded ``share`` of each input's pairs held out, at least one
    where the input has two or more."""
    import numpy as np

    if share <= 0:
        return list(records), []
    rng = np.random.default_rng(seed)
    by_group: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        by_group.setdefault(str(record.meta.get("source", "")), []).append(i)
    held: set[int] = set()
    for group in sorted(by_group):
        members = by_group[group]
        count = min(max(round(share * len(members)), 1), len(members) - 1)
        held.update(int(i) for i in rng.permutation(members)[:count])
    return ([r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held])


def _without(records: Sequence[Record], held: Sequence[Record]) -> list[Record]:
    """The training pairs less any that are also held out (the same article), so a held-out
    file that overlaps the training files cannot inflate its own score."""
    texts = {r.text.strip() for r in held}
    return [r for r in records if r.text.strip() not in texts]


def _bar(total: int, progress: bool | None):
    from tqdm import tqdm

    bar = tqdm(total=total, unit="pair", desc="preparing", disable=None if progress is None else not progress)

    def step():
        bar.update()
        if bar.n >= total:
            bar.close()

    return step


def _members(settings: ExtractorTraining, fit: FitSettings, fit_one: Callable[[FitSettings], tuple[Any, list[float]]]):
    """``settings.members`` networks fitted by ``fit_one``, member m from seed ``fit.seed + m``:
    the network (one, or their ensemble) and the members' mean loss at every step."""
    fitted = [fit_one(replace(fit, seed=fit.seed + m)) for m in range(settings.members)]
    losses = [sum(step) / len(step) for step in zip(*(loss for _, loss in fitted))]
    return combine([net for net, _ in fitted]), losses


def fit_scorer(examples: Sequence[Example], settings: ExtractorTraining, fit: FitSettings):
    import numpy as np

    x = np.concatenate([e.features for e in examples])
    target = np.concatenate([e.target(settings.oracle_share) for e in examples])
    weight = sentence_weights([len(e.texts) for e in examples], [e.group for e in examples])
    return _members(settings, fit, lambda member: fit_network(x, target, weight, member))


def out_of_fold(examples: Sequence[Example], fold_of: Sequence[int], settings: ExtractorTraining, fit: FitSettings,
                say: Callable[[str], None]) -> list[Any]:
    """Each example's sentence probabilities from a scorer fitted without its fold."""
    import numpy as np

    scores: list[Any] = [None] * len(examples)
    for fold in range(settings.folds):
        inside = [e for e, f in zip(examples, fold_of) if f != fold]
        network, losses = fit_scorer(inside, settings, fit)
        for i, (example, f) in enumerate(zip(examples, fold_of)):
            if f == fold:
                scores[i] = 1 / (1 + np.exp(-network(example.features)))
        say(f"fold {fold + 1}/{settings.folds}: scorer loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    return scores


def length_table(examples: Sequence[Example], scores: Sequence[Any], config: PipelineConfig, max_sentences: int):
    """For the length head: each example's length features per ``k`` and the score (ROUGE-1 F
    + ROUGE-2 F, the oracle's measure) of the extract stage's own selection of ``k``
    sentences with these probabilities, under the pipeline's budget and redundancy control."""
    import numpy as np

    cfg = config.extract
    rows, rewards = [], []
    for example, probabilities in zip(examples, scores):
        rows.append(length_features(probabilities, example.tokens, cfg.budget_tokens, example.features, max_sentences))
        vectors = tfidf_vectors(example.texts) if cfg.redundancy > 0 else None
        rewards.append([extract_score(example.rouge_tokens, select(list(probabilities), example.tokens,
                                                                   cfg.budget_tokens, k, cfg.redundancy, vectors),
                                      example.reference_tokens) for k in range(1, max_sentences + 1)])
    return np.asarray(rows), np.asarray(rewards)


def evaluate(held: Sequence[Record], pipeline: str, overrides: Sequence[str], model_path: Path,
             say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """ROUGE F1 x100 of lead-1, lead-3 and ``pipeline`` (with ``overrides``) with the model on
    the held-out pairs, per input and over all, and the model's gains over lead-1 and lead-3.
    The model picks each summary's length unless ``overrides`` fix extract.max_sentences."""
    from .evaluation.rouge import Rouge
    from .evaluation.tokens import choose_tokenization
    from .pipeline import Pipeline

    pairs = [r for r in held if (r.reference or "").strip()]
    fixed = any(item.split("=", 1)[0].strip() == "extract.max_sentences" for item in overrides)
    learned = load_pipeline(pipeline, [*overrides, 'extract.strategy="learned"',
                                       f"extract.scorer={json.dumps(str(model_path))}",
                                       *([] if fixed else ["extract.max_sentences=0"])])
    systems = {name: Pipeline(load_pipeline(pipe, sets)) for name, (pipe, sets) in BASELINES.items()}
    systems["learned"] = Pipeline(learned)
    by_group: dict[str, list[int]] = {}
    for i, record in enumerate(pairs):
        by_group.setdefault(str(record.meta.get("source", "")), []).append(i)
    summaries = {name: [r.summary or "" for r in pipe.run(_copies(pairs))] for name, pipe in systems.items()}
    groups: dict[str, Any] = {}
    rows: dict[str, list[list[float]]] = {name: [] for name in systems}
    for group, members in sorted(by_group.items()):
        tokenization = choose_tokenization([pairs[i].reference for i in members]).name
        rouge = Rouge(tokenization=tokenization)
        entry: dict[str, Any] = {"pairs": len(members), "tokenization": tokenization}
        for name in systems:
            values = [[rouge.score(pairs[i].reference, summaries[name][i])[t].fmeasure for t in ROUGE_TYPES]
                      for i in members]
            rows[name] += values
            entry[name] = _means(values)
        entry["gain_over_lead3"] = _difference(entry["learned"], entry["lead3"])
        entry["gain_over_lead1"] = _difference(entry["learned"], entry["lead1"])
        groups[_group_name(group)] = entry
    overall: dict[str, Any] = {"pairs": len(pairs), **{name: _means(values) for name, values in rows.items()}}
    overall["gain_over_lead3"] = _difference(overall["learned"], overall["lead3"])
    overall["gain_over_lead1"] = _difference(overall["learned"], overall["lead1"])
    report = {"rouge": "F1 x100, stemmed, rougeLsum on one sentence per line", "groups": groups, "all": overall}
    for line in report_lines(report):
        say(line)
    return report


def _copies(records: Sequence[Record]) -> list[Record]:
    return [Record(id=r.id, text=r.text, reference=r.reference, meta=dict(r.meta)) for r in records]


def _means(values: list[list[float]]) -> dict[str, float]:
    if not values:
        return {t: 0.0 for t in ROUGE_TYPES}
    return {t: round(sum(v[j] for v in values) / len(values), 2) for j, t in enumerate(ROUGE_TYPES)}


def _difference(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {t: round(a[t] - b[t], 2) for t in ROUGE_TYPES}


def _group_name(group: str) -> str:
    return os.path.basename(group) or group or "pairs"


def report_lines(report: dict[str, Any]) -> list[str]:
    """The held-out report as lines of a table (ROUGE-1 / ROUGE-2 / ROUGE-Lsum)."""
    lines = ["held-out ROUGE-1 / ROUGE-2 / ROUGE-Lsum (F1 x100):",
             f"  {'input':28s} {'pairs':>5s}  {'lead1':>17s}  {'lead3':>17s}  {'learned':>17s}  {'vs lead3':>17s}"]
    entries = list(report["groups"].items())
    if len(entries) > 1:
        entries.append(("all", report["all"]))
    for name, entry in entries:
        cells = ["/".join(f"{entry[s][t]:.2f}" for t in ROUGE_TYPES) for s in ("lead1", "lead3", "learned")]
        gain = "/".join(f"{entry['gain_over_lead3'][t]:+.2f}" for t in ROUGE_TYPES)
        lines.append(f"  {name[:28]:28s} {entry['pairs']:5d}  " + "  ".join(f"{c:>17s}" for c in cells) + f"  {gain:>17s}")
    return lines


def _metadata(examples: Sequence[Example], train: Sequence[Record], held: Sequence[Record], config: PipelineConfig,
              settings: ExtractorTraining, scorer_losses: list[float], length_losses: list[float]) -> dict[str, Any]:
    groups: dict[str, int] = {}
    for example in examples:
        groups[_group_name(example.group)] = groups.get(_group_name(example.group), 0) + 1
    sentences = sum(len(e.texts) for e in examples)
    return {
        "data": {"training_pairs": len(train), "examples": len(examples), "by_input": groups,
                 "candidate_sentences": sentences,
                 "oracle_sentences": sum(len(e.oracle) for e in examples), "heldout_pairs": len(held)},
        "features": list(FEATURES), "length_features": list(LENGTH_FEATURES),
        "settings": asdict(settings),
        "pipeline": {"name": config.name, "chunk": asdict(config.chunk),
                     "extract": {k: v for k, v in asdict(config.extract).items() if k not in ("strategy", "scorer")}},
        "losses": {"scorer_first": round(scorer_losses[0], 5), "scorer_last": round(scorer_losses[-1], 5),
                   "length_reward_first": round(-length_losses[0], 5), "length_reward_last": round(-length_losses[-1], 5)},
    }

