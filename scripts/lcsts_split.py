"""The LCSTS dev pairs the Chinese work was not tuned on, for ``make chinese-eval``.

The prompts, filters and settings for Chinese were chosen on pairs 0-39 of
``../shared/data/lcsts.dev.jsonl`` (and pairs 300-329 were read while debugging the filters),
so the held-out set is pairs 200-299 and 330-432: written to ``build/chinese/lcsts.heldout.jsonl``.
"""

from __future__ import annotations

from devsplit import DATA, REPO, read_lines, write

HELD_OUT = [*range(200, 300), *range(330, 433)]


def main() -> None:
    lines = read_lines(DATA / "lcsts.dev.jsonl")
    out = REPO / "build" / "chinese"
    out.mkdir(parents=True, exist_ok=True)
    write(out / "lcsts.heldout.jsonl", [lines[i] for i in HELD_OUT if i < len(lines)])
    print(f"{out / 'lcsts.heldout.jsonl'}: {sum(i < len(lines) for i in HELD_OUT)} pairs")


if __name__ == "__main__":
    main()
