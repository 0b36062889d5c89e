"""A run killed at any moment resumes: no record lost, duplicated or torn, input order kept,
and nothing that was finished is computed again.

The kill tests run the real command in a subprocess through a small wrapper that sends
itself SIGKILL at a chosen point (after N records, in the middle of writing a line, while
finishing). A kill from outside at a random moment could land anywhere, including after the
run ended; the wrapper makes each point certain, and one test also kills from outside.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from filelock import FileLock

from summarizer.cli import main
from summarizer.store import FINAL, LOCK, PARTIAL

from .conftest import read_jsonl

# Runs `summarizer ARGS...`, killing itself with SIGKILL at $KILL_AT ("after:N", "torn:N",
# "finalize", "replaced") or pausing at $PAUSE_AFTER records.
WRAPPER = r"""
import os, signal, sys, time
from summarizer import store
from summarizer.cli import main

how, _, n = os.environ.get("KILL_AT", "").partition(":")
n = int(n or 0)
pause = int(os.environ.get("PAUSE_AFTER", "0"))
added = 0
original_add = store.RunFolder.add

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def add(self, record):
    global added
    if how == "torn" and added == n:
        line = (record.to_json() + "\n").encode()
        self._out.write(line[: len(line) // 2])
        self._out.flush()
        die()
    original_add(self, record)
    added += 1
    if how == "after" and added == n:
        die()
    if pause and added == pause:
        time.sleep(60)

store.RunFolder.add = add
if how == "finalize":
    store.RunFolder.finalize = lambda self, order: die()
if how == "replaced":
    store._fsync_folder = lambda path: die()  # called right after os.replace, before the partial goes
sys.argv = ["summarizer", *sys.argv[1:]]
main()
"""


def summarizer(*args, env=None, wrapper=True, **kwargs):
    command = [sys.executable, "-c", WRAPPER] if wrapper else [sys.executable, "-m", "summarizer.cli"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, **kwargs)


def make_corpus(folder, n=40):
    folder.mkdir()
    for i in range(n):
        (folder / f"doc{i:03d}.txt").write_text(
            f"Story {i} begins here. The council met on day {i}. Nothing else happened. The end of story {i}."
        )
    (folder / "zz_empty.txt").write_text("")  # a failed document: tried again on every run
    return folder


def complete_lines(path):
    """The records a killed run left: every complete, valid line of the partial file."""
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")[:-1]  # the last piece is empty or torn
    return [json.loads(line) for line in lines]


def reused_count(output):
    return int(output.split(" summarized (")[1].split(" reused")[0])


def check_resumed(outdir, expected_ids, left):
    """The final file is complete and valid, and the records the killed run had finished
    (``left``) were reused, not computed again."""
    assert not (outdir / PARTIAL).exists() and not (outdir / (FINAL + ".tmp")).exists()
    records = read_jsonl(outdir / FINAL)  # every line parses
    assert [r["id"] for r in records] == expected_ids  # one per document, input order
    by_id = {r["id"]: r for r in records}
    finished = {r["id"]: r for r in left if r["error"] is None}
    for doc_id, old in finished.items():
        assert by_id[doc_id]["run"] == old["run"], doc_id  # same run id: the earlier run's record
    new_run_ids = {r["run"]["run_id"] for r in records if r["id"] not in finished}
    assert len(new_run_ids) <= 1
    return records


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path / "corpus")


EXPECTED_IDS = [f"doc{i:03d}" for i in range(40)] + ["zz_empty"]


@pytest.mark.parametrize("kill_at", ["after:1", "after:17", "torn:9", "torn:0", "finalize", "replaced"])
def test_killed_run_resumes_without_loss_duplication_or_recomputation(corpus, tmp_path, kill_at):
    out = tmp_path / "out"
    killed = summarizer("run", corpus, "-o", out, "-p", "lead3", env={"KILL_AT": kill_at})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = complete_lines(out / PARTIAL) + (read_jsonl(out / FINAL) if kill_at == "replaced" else [])
    resumed = summarizer("run", corpus, "-o", out, "-p", "lead3", wrapper=False)
    assert resumed.returncode == 3, resumed.stderr  # zz_empty fails, every time
    check_resumed(out, EXPECTED_IDS, left)
    reusable = {r["id"] for r in left if r["error"] is None}
    assert reused_count(resumed.stderr) == len(reusable)
    if kill_at.startswith("after:"):
        assert len(reusable) == int(kill_at.split(":")[1])
    if kill_at in ("finalize", "replaced"):
        assert len(reusable) == 40


def test_killed_model_run_resumes_between_batches(tmp_path, tiny_model, article_folder):
    for i in range(3):
        (article_folder / f"extra{i}.txt").write_text(f"Extra story {i}. It rained on day {i}. Roads closed.")
    out = tmp_path / "out"
    args = ["run", article_folder, "-o", out, "--model", tiny_model, "--set", "generate.window=2",
            "--set", "generate.batch_size=1", "--set", "generate.max_new_tokens=4"]
    killed = summarizer(*args, env={"KILL_AT": "after:3"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = complete_lines(out / PARTIAL)
    assert len(left) == 3 and all(r["generation"] is not None for r in left)
    resumed = summarizer(*args, wrapper=False)
    assert resumed.returncode == 0, resumed.stderr
    ids = ["bridge", "extra0", "extra1", "extra2", "flood", "market"]
    records = check_resumed(out, ids, left)
    assert reused_count(resumed.stderr) == 3
    assert all(r["generation"] is not None for r in records)


def _default_sigint():
    # A test session started in the background (``nohup make test &``) ignores SIGINT, and a
    # child inherits that; Python then installs no KeyboardInterrupt handler. Ctrl-C reaches a
    # foreground run, so the child gets the default disposition back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_and_kill_from_outside_then_resume(corpus, tmp_path):
    out = tmp_path / "out"
    for sig, code in ((signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)):
        process = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, "run", str(corpus), "-o", str(out), "-p", "lead3"],
            env={**os.environ, "PAUSE_AFTER": str(5 if sig == signal.SIGINT else 7)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
        )
        wanted = 5 if sig == signal.SIGINT else 12
        deadline = time.monotonic() + 60
        while len(complete_lines(out / PARTIAL)) < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == code, stderr
        if sig == signal.SIGINT:
            assert "Interrupted" in stderr and "run the same command again" in stderr
    left = complete_lines(out / PARTIAL)
    assert len(left) == 12  # 5 from the first run, 7 more from the second, which reused the 5
    resumed = summarizer("run", corpus, "-o", out, "-p", "lead3", wrapper=False)
    check_resumed(out, EXPECTED_IDS, left)
    assert reused_count(resumed.stderr) == 12


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_runs(corpus, tmp_path):
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-c", WRAPPER, "run", str(corpus), "-o", str(out), "-p", "lead3"],
                             env={**os.environ, "PAUSE_AFTER": "3"}, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(complete_lines(out / PARTIAL)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = summarizer("run", corpus, "-o", out, "-p", "lead3", wrapper=False)
        assert second.returncode == 1
        assert f"output folder '{out}' is in use by another 'summarizer run'" in second.stderr
        assert "give another --output folder" in second.stderr
        assert len(complete_lines(out / PARTIAL)) == 3  # untouched by the refused run
    finally:
        first.kill()
        first.communicate()
    left = complete_lines(out / PARTIAL)
    resumed = summarizer("run", corpus, "-o", out, "-p", "lead3", wrapper=False)
    assert reused_count(resumed.stderr) == 3
    check_resumed(out, EXPECTED_IDS, left)


def run(*args):
    return CliRunner().invoke(main, ["run", *map(str, args)])


def test_changed_documents_and_settings_are_recomputed_force_redoes_all(article_folder, tmp_path):
    out = tmp_path / "out"
    first = run(article_folder, "-o", out, "-p", "lead3")
    assert first.exit_code == 0 and reused_count(first.output) == 0
    before = {r["id"]: r for r in read_jsonl(out / FINAL)}
    (article_folder / "flood.txt").write_text("The flood is over. Roads reopened on Friday.")
    second = run(article_folder, "-o", out, "-p", "lead3")
    assert reused_count(second.output) == 2
    after = {r["id"]: r for r in read_jsonl(out / FINAL)}
    assert after["flood"]["summary"] == "The flood is over. Roads reopened on Friday."
    assert after["flood"]["run"]["content_hash"] != before["flood"]["run"]["content_hash"]
    assert after["bridge"] == before["bridge"]
    changed = run(article_folder, "-o", out, "-p", "lead3", "--set", "extract.max_sentences=1")
    assert reused_count(changed.output) == 0
    records = read_jsonl(out / FINAL)
    assert len({r["run"]["fingerprint"] for r in records}) == 1
    assert records[0]["run"]["fingerprint"] != before["bridge"]["run"]["fingerprint"]
    forced = run(article_folder, "-o", out, "-p", "lead3", "--set", "extract.max_sentences=1", "--force")
    assert forced.exit_code == 0 and reused_count(forced.output) == 0
    assert len(read_jsonl(out / FINAL)) == 3


def test_failed_documents_are_tried_again_and_limit_grows(article_folder, tmp_path):
    out = tmp_path / "out"
    (article_folder / "later.txt").write_text("")
    first = run(article_folder, "-o", out, "-p", "lead3", "--limit", "2")
    assert first.exit_code == 0 and len(read_jsonl(out / FINAL)) == 2
    second = run(article_folder, "-o", out, "-p", "lead3")
    assert second.exit_code == 3 and reused_count(second.output) == 2
    (article_folder / "later.txt").write_text("Now it has text.")
    third = run(article_folder, "-o", out, "-p", "lead3")
    assert third.exit_code == 0 and reused_count(third.output) == 3
    assert [r["id"] for r in read_jsonl(out / FINAL)] == ["bridge", "flood", "later", "market"]


def test_fail_fast_stops_keeps_a_valid_resumable_partial(article_folder, tmp_path):
    out = tmp_path / "out"
    (article_folder / "c_broken.txt").write_bytes(b"\x00\x01binary")
    stopped = run(article_folder, "-o", out, "-p", "lead3", "--fail-fast")
    assert stopped.exit_code == 4, stopped.output
    assert "Stopped at the first failed document, c_broken (--fail-fast)" in stopped.output
    assert not (out / FINAL).exists()
    left = complete_lines(out / PARTIAL)
    assert [r["id"] for r in left] == ["bridge", "c_broken"]
    (article_folder / "c_broken.txt").write_text("Fixed now.")
    resumed = run(article_folder, "-o", out, "-p", "lead3", "--fail-fast")
    assert resumed.exit_code == 0 and reused_count(resumed.output) == 1
    check_resumed(out, ["bridge", "c_broken", "flood", "market"], left)


def test_torn_and_foreign_lines_in_the_partial_file_are_ignored(article_folder, tmp_path):
    out = tmp_path / "out"
    run(article_folder, "-o", out, "-p", "lead3")
    good = (out / FINAL).read_bytes().split(b"\n")[0]
    (out / FINAL).unlink()
    (out / PARTIAL).write_bytes(b"not json at all\n" + b'{"id": "flood"}\n' + good + b"\n" + good[:50])
    resumed = run(article_folder, "-o", out, "-p", "lead3")
    assert resumed.exit_code == 0 and reused_count(resumed.output) == 1
    assert [r["id"] for r in read_jsonl(out / FINAL)] == ["bridge", "flood", "market"]


def test_reused_documents_do_not_load_the_model(article_folder, tmp_path, tiny_model, monkeypatch):
    out = tmp_path / "out"
    args = [article_folder, "-o", out, "--model", tiny_model, "--set", "generate.max_new_tokens=4"]
    assert run(*args).exit_code == 0
    import summarizer.models

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded although every document was reused")

    monkeypatch.setattr(summarizer.models, "load_model", refuse)
    monkeypatch.setattr(summarizer.models, "load_tokenizer", refuse)
    again = run(*args)
    assert again.exit_code == 0, again.output
    assert reused_count(again.output) == 3


def test_lock_is_held_only_while_running(article_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(str(out / LOCK)):
        held = run(article_folder, "-o", out, "-p", "lead3")
    assert held.exit_code == 1 and "is in use by another 'summarizer run'" in held.output
    assert run(article_folder, "-o", out, "-p", "lead3").exit_code == 0


def test_records_are_fsynced_within_a_second_while_the_pipeline_is_busy(tmp_path, monkeypatch):
    from summarizer import store
    from summarizer.records import Record

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(store, "FSYNC_SECONDS", 0.02)
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    with store.RunFolder(tmp_path, "fp") as folder:
        record = Record(id="a", text="A.")
        folder.reuse(record)
        folder.add(record)
        deadline = time.monotonic() + 5
        while not synced and time.monotonic() < deadline:  # no further add: the thread must sync
            time.sleep(0.01)
        assert synced
        assert len(complete_lines(tmp_path / PARTIAL)) == 1
        folder.finalize(["a"])
    assert [r["id"] for r in read_jsonl(tmp_path / FINAL)] == ["a"]
