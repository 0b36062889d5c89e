"""Fine-tuning on the tiny model: labels, the target-only loss, training, resuming, data hygiene."""

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from summarizer import adapters, models
from summarizer.cli import main
from summarizer.errors import ConfigError, InputError, ModelError, OutputError
from summarizer.finetune import FinetuneConfig, finetune
from summarizer.finetune_loss import IGNORE, collate, mean_loss, summary_loss
from summarizer.finetune_pairs import build_prompts, check_overlap, encode, prompt_stages, read_pairs
from summarizer.generate import encode_prompt
from summarizer.pipeline import Pipeline
from summarizer.stages import STAGES

from .conftest import ARTICLES, read_jsonl


def write_pairs(path: Path, n: int = 12, prefix: str = "p") -> Path:
    rows = []
    for i in range(n):
        name = sorted(ARTICLES)[i % 3]
        rows.append({"id": f"{prefix}{i}", "article": f"{ARTICLES[name]} Note {prefix}{i} was filed on day {i}.",
                     "summary": f"The {name} story: note {i}."})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# Fast settings: a high learning rate moves the tiny model in a few steps.
def fast(**changes) -> FinetuneConfig:
    settings = dict(max_steps=6, learning_rate=1e-2, grad_accum=2, save_steps=2, eval_docs=4, lora_r=4, lora_alpha=8)
    settings.update(changes)
    return FinetuneConfig(**settings)


def prepared(tiny_trainable_model, path):
    pipe = Pipeline.load("abstractive", model=tiny_trainable_model)
    pairs = build_prompts(read_pairs(path), pipe)
    return pipe, pairs, encode(pairs, pipe, FinetuneConfig())


def adapter_weights(folder):
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "adapter_model.safetensors"))


def test_labels_mask_the_prompt_and_end_with_the_end_token(tiny_trainable_model, tmp_path):
    pipe, pairs, examples = prepared(tiny_trainable_model, write_pairs(tmp_path / "t.jsonl", n=3))
    tokenizer = pipe.ctx.tokenizer
    # the prompts are what the pipeline itself gives the model
    by_pipeline = {r.id: r.prompt for r in Pipeline.load("abstractive", model=tiny_trainable_model,
                                                          overrides=["generate.max_new_tokens=1"]).run(
        read_pairs(tmp_path / "t.jsonl").records)}
    for record, example in zip(pairs.records, examples):
        assert record.prompt == by_pipeline[record.id] and record.prompt.endswith("\n\nStory highlights:\n")
        prompt_ids = encode_prompt(tokenizer, record.prompt)
        n = len(prompt_ids)
        # what the generate stage feeds the model for this prompt (a batch of one)
        assert prompt_ids == tokenizer([record.prompt], padding=True, add_special_tokens=True)["input_ids"][0]
        assert example["input_ids"][:n] == prompt_ids
        assert example["labels"][:n] == [IGNORE] * n
        assert example["labels"][n:] == example["input_ids"][n:]
        assert example["labels"][-1] == tokenizer.eos_token_id
        space = "" if record.prompt[-1].isspace() else " "  # the prompt's last word is followed by one
        assert tokenizer.decode(example["input_ids"][n:-1]) == space + record.reference


def test_long_references_are_cut_without_an_end_token(tiny_trainable_model, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"id": "a", "article": ARTICLES["bridge"], "summary": "word " * 200}) + "\n")
    pipe = Pipeline.load("abstractive", model=tiny_trainable_model)
    (example,) = encode(build_prompts(read_pairs(path), pipe), pipe, FinetuneConfig(max_target_tokens=10))
    assert sum(label != IGNORE for label in example["labels"]) == 10 and example["truncated"]
    assert example["labels"][-1] != pipe.ctx.tokenizer.eos_token_id


def test_target_only_loss_equals_the_models_own_loss_without_full_logits(tiny_trainable_model, tmp_path):
    import torch

    pipe, _, examples = prepared(tiny_trainable_model, write_pairs(tmp_path / "t.jsonl", n=3))
    model = models.load_base_model(tiny_trainable_model, torch.float32).eval()
    batch = collate(examples, pipe.ctx.tokenizer.pad_token_id)  # right-padded: rows of different lengths
    assert len({len(e["input_ids"]) for e in examples}) > 1
    rows = []
    head = model.get_output_embeddings()
    hook = head.register_forward_hook(lambda module, inputs, output: rows.append(inputs[0].shape))
    with torch.no_grad():
        total, count = summary_loss(model, batch)
    hook.remove()
    targets = sum(sum(label != IGNORE for label in e["labels"]) for e in examples)
    assert int(count) == targets
    assert rows == [torch.Size([targets, model.config.hidden_size])]  # the head saw the target positions only
    with torch.no_grad():
        own = sum(model(input_ids=torch.tensor([e["input_ids"]]), labels=torch.tensor([e["labels"]])).loss
                  * sum(label != IGNORE for label in e["labels"]) for e in examples)
    assert float(total) == pytest.approx(float(own), rel=1e-5)


def test_a_few_steps_lower_the_loss(tiny_trainable_model, tmp_path):
    import torch

    path = write_pairs(tmp_path / "t.jsonl")
    result = finetune(path, tmp_path / "adapter", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=8))
    pipe, _, examples = prepared(tiny_trainable_model, path)
    pad = pipe.ctx.tokenizer.pad_token_id
    before = mean_loss(models.load_base_model(tiny_trainable_model, torch.float32), examples, pad)
    after = mean_loss(models.load_model(tiny_trainable_model, adapter=str(tmp_path / "adapter")), examples, pad)
    assert after < before - 0.5, (before, after)
    training = result.metadata["training"]
    assert training["steps"] == 8 and len(training["loss_per_step"]) == 8
    assert training["loss_last_10pct"] < training["loss_first"]
    meta = adapters.read_metadata(tmp_path / "adapter")
    assert meta["base_model"] == str(Path(tiny_trainable_model).resolve()) and meta["pipeline"] == "abstractive"
    assert meta["settings"]["seed"] == 0 and meta["data"]["pairs_used"] == 12
    assert set(meta["lora_target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                "down_proj"}
    assert meta["weights_sha256"] == adapters.weights_digest(tmp_path / "adapter")
    assert not (tmp_path / "adapter" / "checkpoints").exists()


def test_held_out_loss_is_measured_before_and_after(tiny_trainable_model, tmp_path):
    train = write_pairs(tmp_path / "t.jsonl")
    held = write_pairs(tmp_path / "h.jsonl", n=4, prefix="h")
    result = finetune(train, tmp_path / "adapter", pipeline="abstractive", model=tiny_trainable_model, eval_path=held, config=fast(max_steps=8))
    training = result.metadata["training"]
    assert result.metadata["data"]["eval_pairs_for_loss"] == 4
    assert training["eval_loss_after"] < training["eval_loss_before"]


def test_same_seed_same_adapter(tiny_trainable_model, tmp_path):
    path = write_pairs(tmp_path / "t.jsonl")
    finetune(path, tmp_path / "a", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=3))
    finetune(path, tmp_path / "b", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=3))
    finetune(path, tmp_path / "c", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=3, seed=1))
    a, b, c = (adapter_weights(tmp_path / x) for x in "abc")
    assert all((a[k] == b[k]).all() for k in a)
    assert any(not (a[k] == c[k]).all() for k in a)


class StopAt:
    """A callback that stops training like Ctrl-C does, right after checkpoint ``step`` is saved."""

    def __init__(self, step):
        from transformers import TrainerCallback

        outer = self

        class Callback(TrainerCallback):
            def on_save(self, args, state, control, **kwargs):
                if state.global_step == outer.step:
                    raise KeyboardInterrupt

        self.step = step
        self.callback = Callback()


class StepCounter:
    def __init__(self):
        from transformers import TrainerCallback

        outer = self
        self.count = 0

        class Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                outer.count += 1

        self.callback = Callback()


def test_interrupted_run_resumes_to_the_same_adapter(tiny_trainable_model, tmp_path):
    path = write_pairs(tmp_path / "t.jsonl")
    config = fast(max_steps=8, lora_dropout=0.1)  # dropout: the random state must be restored too
    finetune(path, tmp_path / "straight", pipeline="abstractive", model=tiny_trainable_model, config=config)

    with pytest.raises(KeyboardInterrupt):
        finetune(path, tmp_path / "stopped", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=8, lora_dropout=0.1),
                 callbacks=[StopAt(4).callback])
    folder = tmp_path / "stopped"
    assert (folder / "checkpoints" / "checkpoint-4").is_dir() and not (folder / adapters.METADATA).exists()
    with pytest.raises(ModelError, match="unfinished fine-tuning run"):
        models.check(tiny_trainable_model, str(folder))
    with pytest.raises(OutputError, match="other settings or data .*learning_rate"):
        finetune(path, folder, pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=8, lora_dropout=0.1, learning_rate=5e-3))

    steps = StepCounter()
    result = finetune(path, folder, pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=8, lora_dropout=0.1),
                      callbacks=[steps.callback])
    assert steps.count == 4  # only the steps after the checkpoint were trained again
    assert result.metadata["training"]["resumed_from"] == "checkpoint-4"
    assert result.metadata["training"]["steps"] == 8 and len(result.metadata["training"]["loss_per_step"]) == 8
    straight, resumed = adapter_weights(tmp_path / "straight"), adapter_weights(folder)
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert (straight[key] == resumed[key]).all(), key


def test_finished_run_is_kept_and_force_starts_over(tiny_trainable_model, tmp_path):
    path = write_pairs(tmp_path / "t.jsonl")
    first = finetune(path, tmp_path / "a", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=2))
    again = finetune(path, tmp_path / "a", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=2))
    assert not again.trained and again.metadata["weights_sha256"] == first.metadata["weights_sha256"]
    with pytest.raises(OutputError, match="already holds a finished adapter trained with other settings.*max_steps"):
        finetune(path, tmp_path / "a", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=3))
    forced = finetune(path, tmp_path / "a", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=3), force=True)
    assert forced.trained and forced.metadata["training"]["steps"] == 3


def test_cli_finetune_then_run_with_the_adapter_changes_the_output(tiny_trainable_model, tmp_path, article_folder):
    path = write_pairs(tmp_path / "t.jsonl")
    runner = CliRunner()
    result = runner.invoke(main, ["finetune", str(path), "-o", str(tmp_path / "adapter"), "--model", tiny_trainable_model,
                                  "--max-steps", "8", "--lr", "1e-2", "--grad-accum", "2", "--lora-r", "4"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Adapter:" in result.output and "--adapter" in result.output

    def run(out, *options):
        result = runner.invoke(main, ["run", str(article_folder), "-o", str(tmp_path / out), "-p", "abstractive",
                                      "--model", tiny_trainable_model, "--set", "generate.max_new_tokens=8", *options],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return {r["id"]: r["generation"] for r in read_jsonl(tmp_path / out / "summaries.jsonl")}

    base, tuned = run("base"), run("tuned", "--adapter", str(tmp_path / "adapter"))
    assert tuned != base and all(tuned.values())


def test_pairs_also_held_out_are_refused(tiny_trainable_model, tmp_path):
    train = write_pairs(tmp_path / "t.jsonl", n=6)
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    held_rows = [
        {"id": "p1", "article": "A different article with the same id.", "summary": "x"},
        # the same article as p4 under another id, in other case and spacing
        {"id": "h9", "article": "  " + rows[4]["article"].upper().replace(" ", "\n "), "summary": "x"},
        {"id": "h10", "article": "Unrelated.", "summary": "y"},
    ]
    held = tmp_path / "h.jsonl"
    held.write_text("".join(json.dumps(r) + "\n" for r in held_rows))
    with pytest.raises(InputError) as info:
        check_overlap(read_pairs(train), read_pairs(held))
    message = str(info.value)
    assert "2 of 6 training pair(s)" in message and "id p1" in message
    assert "id p4 has the article of held-out id h9" in message and "remove them from the training file" in message
    result = CliRunner().invoke(main, ["finetune", str(train), "-o", str(tmp_path / "adapter"), "--model", tiny_trainable_model,
                                       "--eval", str(held)])
    assert result.exit_code == 1 and "2 of 6 training pair(s)" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "adapter").exists()


def test_malformed_pairs_are_reported_not_dropped_silently(tiny_trainable_model, tmp_path, caplog):
    path = write_pairs(tmp_path / "t.jsonl", n=4)
    with path.open("a") as f:
        f.write("{not json\n")
        f.write(json.dumps({"id": "noref", "article": "An article without a summary."}) + "\n")
        f.write(json.dumps({"id": "notext", "summary": "A summary without an article."}) + "\n")
        f.write("[1, 2]\n")
    with caplog.at_level(logging.WARNING, logger="summarizer"):
        result = finetune(path, tmp_path / "adapter", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=1))
    assert "4 of 8 training pair(s)" in caplog.text
    assert "line 5" in caplog.text and "id noref" in caplog.text
    data = result.metadata["data"]
    assert data["pairs_used"] == 4 and data["pairs_left_out"] == 4
    left_out = {(p["line"], p["id"]): p["problem"] for p in data["left_out"]}
    assert set(left_out) == {(5, "t:5"), (6, "noref"), (7, "notext"), (8, "t:8")}
    assert "not valid JSON" in left_out[(5, "t:5")] and "no reference summary" in left_out[(6, "noref")]
    assert "no text field" in left_out[(7, "notext")] and "not a JSON object" in left_out[(8, "t:8")]
    assert adapters.read_metadata(tmp_path / "adapter")["data"]["left_out"] == data["left_out"]


def test_no_usable_pairs_and_bad_settings_are_clear_errors(tiny_trainable_model, tmp_path):
    empty = tmp_path / "e.jsonl"
    empty.write_text(json.dumps({"id": "a", "article": "Text only."}) + "\n")
    with pytest.raises(InputError, match="no usable training pairs .*1 left out: line 1 \\(id a\\): no reference"):
        finetune(empty, tmp_path / "x", pipeline="abstractive", model=tiny_trainable_model, config=fast())
    pairs = write_pairs(tmp_path / "t.jsonl", n=2)
    with pytest.raises(ConfigError, match=r"pipeline 'lead3' has no model stage \(stages: chunk, extract, filter\)"):
        finetune(pairs, tmp_path / "x", pipeline="lead3", config=fast())
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="starts from a base model, not from an adapter"):
        finetune(pairs, tmp_path / "x", pipeline="abstractive", model=tiny_trainable_model, overrides=['generate.adapter="somewhere"'], config=fast())
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="is not empty and is not an adapter folder .*notes.txt"):
        finetune(pairs, tmp_path / "busy", pipeline="abstractive", model=tiny_trainable_model, config=fast())
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        finetune(pairs, tmp_path / "x", pipeline="abstractive", model=tiny_trainable_model, config=fast(batch_size=0))


def own_model_stage(records, ctx):
    yield from records  # never run by fine-tuning, which stops before the model stage


own_model_stage.uses_model = True
STAGES.register("test_finetune_own_model_stage")(own_model_stage)


def test_a_model_stage_of_the_users_own_is_trained_for(tiny_trainable_model, tmp_path):
    """The model stage is the one that says it uses the model, whatever its name."""
    pipeline = tmp_path / "own.toml"
    pipeline.write_text('stages = ["chunk", "extract", "prompt", "test_finetune_own_model_stage", "filter"]\n')
    assert prompt_stages(Pipeline.load(str(pipeline), model=tiny_trainable_model).config) == ["chunk", "extract", "prompt"]
    result = finetune(write_pairs(tmp_path / "t.jsonl", n=2), tmp_path / "adapter", pipeline=str(pipeline),
                      model=tiny_trainable_model, config=fast(max_steps=1))
    assert result.trained and result.metadata["pipeline"] == "own" and result.metadata["data"]["pairs_used"] == 2
    assert result.metadata["pipeline_settings"]["stages"][3] == "test_finetune_own_model_stage"


def test_padded_batches_and_accumulation_weigh_every_target_token_the_same(tiny_trainable_model, tmp_path):
    """One step over the same two pairs, as one padded batch of 2 or as 2 accumulated batches
    of 1: the loss is the mean over all their target tokens either way."""
    path = write_pairs(tmp_path / "t.jsonl", n=8)
    together = finetune(path, tmp_path / "a", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=1, batch_size=2, grad_accum=1))
    accumulated = finetune(path, tmp_path / "b", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=1, batch_size=1, grad_accum=2))
    first = together.metadata["training"]["loss_per_step"][0]
    assert first == pytest.approx(accumulated.metadata["training"]["loss_per_step"][0], abs=2e-4)


def test_cli_interrupt_says_how_to_continue(tiny_trainable_model, tmp_path, monkeypatch):
    from summarizer import finetune as module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "train_adapter", interrupted)
    path = write_pairs(tmp_path / "t.jsonl", n=2)
    result = CliRunner().invoke(main, ["finetune", str(path), "-o", str(tmp_path / "a"), "--model", tiny_trainable_model])
    assert result.exit_code == 130
    assert "Interrupted. Checkpoints are kept in" in result.output and "run the same command again" in result.output


def test_gradient_checkpointing_trains_the_same_adapter(tiny_trainable_model, tmp_path):
    import torch

    path = write_pairs(tmp_path / "t.jsonl", n=4)
    finetune(path, tmp_path / "a", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=2, lora_dropout=0.0))
    finetune(path, tmp_path / "b", pipeline="abstractive", model=tiny_trainable_model,
             config=fast(max_steps=2, lora_dropout=0.0, gradient_checkpointing=True))
    a, b = adapter_weights(tmp_path / "a"), adapter_weights(tmp_path / "b")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_a_finished_run_is_packaged_in_half_precision_with_its_notice(tiny_trainable_model, tmp_path):
    from safetensors import safe_open

    from summarizer.finetune_folder import package_adapter

    path = write_pairs(tmp_path / "t.jsonl", n=4)
    finetune(path, tmp_path / "run", pipeline="abstractive", model=tiny_trainable_model, config=fast(max_steps=1))
    with pytest.raises(ModelError, match="cannot read summarizer-adapter.json"):  # not a finished run
        package_adapter(tmp_path / "run" / "checkpoints", "cmd", {}, 1.0, target=tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()
    target = package_adapter(tmp_path / "run", "summarizer finetune ...", {"train": 4}, 12.3, target=tmp_path / "pkg")
    assert sorted(p.name for p in target.iterdir()) == ["NOTICE", "adapter_config.json", "adapter_model.safetensors",
                                                        "summarizer-adapter.json"]
    full = adapter_weights(tmp_path / "run")
    with safe_open(str(target / "adapter_model.safetensors"), framework="pt") as handle:
        assert set(handle.keys()) == set(full)
        for key in handle.keys():
            half = handle.get_tensor(key)
            assert str(half.dtype) == "torch.float16" and (half.float() - full[key]).abs().max() < 1e-2
    meta = adapters.read_metadata(target)
    assert meta["made_by"] == {"command": "summarizer finetune ...", "make_target": "make adapter",
                               "split": {"train": 4}, "wall_seconds": 12.3}
    assert meta["data"]["train"] == "t.jsonl" and meta["weights_sha256"] == adapters.weights_digest(target)
    assert json.loads((target / "adapter_config.json").read_text())["base_model_name_or_path"] == meta["base_model"]
    assert meta["base_sha256"] is None  # a model folder: its digest is not known without reading it
    # and it loads like any adapter
    assert models.load_model(tiny_trainable_model, adapter=str(target)) is not None
