"""The fast decoder against transformers' generate on a GPU (or any device), in one process.

    python bench/cuda_decode.py [--model FOLDER] [--device cuda] [--json build/bench/cuda_decode.json]

Without --model it builds a model of Gemma 3 270M's shape (18 layers, 640 wide, 262,144-token
vocabulary, sliding-window attention) with random weights, so it runs where the real weights
cannot be copied. Random weights say nothing of quality; they do give the real model's cost
per step, and a check that both loops pick the same tokens (in fp32; bf16 sums can round
differently when finished rows leave the batch, so there the share of identical rows is shown).
Prompts are random token ids, left-padded, ~420 tokens; one common token is a stop token so
rows end at different steps, as summaries do.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GEMMA_270M = dict(
    vocab_size=262144, hidden_size=640, intermediate_size=2048, num_hidden_layers=18, num_attention_heads=4,
    num_key_value_heads=1, head_dim=256, sliding_window=512, max_position_embeddings=32768,
    query_pre_attn_scalar=256, pad_token_id=0, eos_token_id=1, bos_token_id=2, initializer_range=0.1,
    layer_types=(["sliding_attention"] * 5 + ["full_attention"]) * 3,
)


def build_model(args, dtype):
    import torch
    from transformers import AutoModelForCausalLM, Gemma3TextConfig, Gemma3ForCausalLM

    if args.model:
        return AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype).to(args.device).eval()
    torch.manual_seed(0)
    return Gemma3ForCausalLM(Gemma3TextConfig(**GEMMA_270M)).to(dtype).to(args.device).eval()


def prompts(rows: int, device, vocab: int):
    import torch

    generator = torch.Generator().manual_seed(1)
    lengths = torch.randint(380, 440, (rows,), generator=generator)
    width = int(lengths.max())
    ids = torch.zeros((rows, width), dtype=torch.long)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for row, length in enumerate(lengths.tolist()):
        ids[row, width - length:] = torch.randint(3, min(vocab, 32000), (length,), generator=generator)
        mask[row, width - length:] = 1
    return ids.to(device), mask.to(device)


def frequent_token(model, ids, mask, max_new: int) -> int:
    """A token the model often produces past its first few steps: as a stop token it ends
    rows at different steps."""
    from collections import Counter

    import torch

    from summarizer.decode import greedy

    with torch.inference_mode():
        rows = greedy(model, ids, mask, max_new_tokens=max_new, stop_ids=[1]).tokens
    counts = Counter(t for row in rows for t in row[4:])
    return counts.most_common(1)[0][0] if counts else 1


def run_both(model, ids, mask, max_new: int, stop: list[int], sync) -> dict:
    import torch

    from summarizer.decode import greedy, until_stop

    with torch.inference_mode():
        for _ in range(2):  # warm-up: kernels, allocator
            greedy(model, ids[:2], mask[:2], max_new_tokens=4, stop_ids=stop)
        sync()
        start = time.perf_counter()
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new, do_sample=False,
                             num_beams=1, eos_token_id=stop, pad_token_id=0)
        sync()
        hf_seconds = time.perf_counter() - start
        start = time.perf_counter()
        fast = greedy(model, ids, mask, max_new_tokens=max_new, stop_ids=stop)
        sync()
        fast_seconds = time.perf_counter() - start
    reference = [until_stop(row, stop) for row in out[:, ids.shape[1]:].tolist()]
    new_tokens = sum(len(t) for t in fast.tokens)
    return {
        "rows": ids.shape[0],
        "new_tokens": new_tokens,
        "transformers_seconds": round(hf_seconds, 3),
        "fast_seconds": round(fast_seconds, 3),
        "fast_prefill_seconds": round(fast.prefill_seconds, 3),
        "speedup": round(hf_seconds / fast_seconds, 2),
        "identical_rows": f"{sum(a == b for a, b in zip(fast.tokens, reference))}/{len(reference)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a model folder [default: random Gemma-3-270M shape]")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-sizes", default="1,16,32,64")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "cuda_decode.json")
    args = parser.parse_args()

    import torch

    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    report = {"device": torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device,
              "torch": torch.__version__, "runs": []}
    for dtype in (torch.float32, torch.bfloat16):
        model = build_model(args, dtype)
        ids, mask = prompts(max(int(b) for b in args.batch_sizes.split(",")), args.device, model.config.vocab_size)
        stop = [1, frequent_token(model, ids[:8], mask[:8], args.max_new_tokens)]
        for size in (int(b) for b in args.batch_sizes.split(",")):
            entry = {"dtype": str(dtype).replace("torch.", "")} | run_both(
                model, ids[:size], mask[:size], args.max_new_tokens, stop, sync)
            report["runs"].append(entry)
            print(json.dumps(entry), flush=True)
        del model
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
