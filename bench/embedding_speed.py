"""Speed of the ``embedding`` extract strategy: length-sorted batches against the old encoder.

    python bench/embedding_speed.py [--articles 60] [--rounds 3] [--json build/bench/embedding_speed.json]

One process runs the extractive pipeline with ``extract.strategy=embedding`` over the first
``--articles`` CNN/DailyMail dev articles, alternating rounds between ``old`` (the encoder as
it was: unsorted batches of 64, kept below as the baseline and swapped in for
``summarizer.extract.embed``) and ``new`` (``summarizer.embeddings.embed``), so that a busy
machine slows both alike. Reported: the best round's seconds per article for each, their
ratio, and how many articles' summaries differ between the two. The model is loaded once,
before timing, and shared by both.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cnndm.dev.jsonl"


# --- Baseline: summarizer.embeddings.embed before length sorting (kept verbatim in effect) ---
def old_embed(sentences):
    import numpy as np
    import torch

    from summarizer.embeddings import MAX_TOKENS, _encoder

    tokenizer, model = _encoder()
    out = []
    with torch.inference_mode():
        for start in range(0, len(sentences), 64):
            batch = tokenizer(list(sentences[start : start + 64]), padding=True, truncation=True,
                              max_length=MAX_TOKENS, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)
# --- end of baseline ---


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("build/bench/embedding_speed.json"))
    args = parser.parse_args()
    import torch

    import summarizer.extract as extract
    from summarizer import Pipeline
    from summarizer.embeddings import embed as new_embed

    with DATA.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["article"] for _, line in zip(range(args.articles), handle)]
    pipe = Pipeline.load("extractive", overrides=["extract.strategy=embedding"])
    ways = {"old": old_embed, "new": new_embed}
    best = {name: float("inf") for name in ways}
    outputs = {}
    for name, fn in ways.items():  # imports and the model load, outside the timing
        extract.embed = fn
        pipe(texts[:1])
    for _ in range(args.rounds):
        for name, fn in ways.items():
            extract.embed = fn
            start = time.perf_counter()
            outputs[name] = pipe(texts)
            best[name] = min(best[name], (time.perf_counter() - start) / len(texts))
    extract.embed = new_embed
    differ = sum(a != b for a, b in zip(outputs["old"], outputs["new"]))
    report = {
        "articles": len(texts), "data": str(DATA.name), "rounds": args.rounds,
        "torch_threads": torch.get_num_threads(),
        "seconds_per_article": {name: round(v, 4) for name, v in best.items()},
        "ratio_old_to_new": round(best["old"] / best["new"], 2),
        "articles_with_different_summaries": differ,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
