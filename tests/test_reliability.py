"""Corpus and index under stress, through the real `rag` command and the real MiniLM embedder:
problem files, kill -9 mid-ingest, two ingests at once, damaged indexes, disk errors.

Subprocesses are observed from outside only (the ingest lock in /proc/locks, the
``versions/.building-*`` folder); the product has no test hooks. What a test cannot make the
operating system do (a power loss, a permission error while running as root) it plays at the
operating system's edge: ``os.fsync`` and ``Path.read_bytes``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import IndexMismatchError, IndexNotFoundError, Settings
from rag.index.store import expected_manifest
from rag.ingest.run import ingest
from rag.index.store import current_version, load_index

from .conftest import ROOT, SEEDS

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1"}


def rag(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.faces.cli", *args], capture_output=True, text=True, cwd=ROOT, env=ENV, **kw)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def state(index_dir: Path) -> dict[str, str]:
    """{file: sha256} of the live index, after checking that it loads completely."""
    index = load_index(index_dir, {})
    assert {c.source for c in index.chunks} == set(index.documents)
    return {name: doc.sha256 for name, doc in index.documents.items()}


def corpus_state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


# -- a folder full of problem files ---------------------------------------------------------
@pytest.fixture
def messy(tmp_path) -> tuple[Path, set[str], set[str]]:
    """(folder, good file names, problem file names)."""
    folder = tmp_path / "messy"
    shutil.copytree(SEEDS, folder)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\n \t\n")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([3, 7, 1, 2, 200, 4, 5, 6] * 300))
    (folder / "big.txt").write_text(("The council met again and agreed on the budget. " * 220_000)[:10_500_000])
    shutil.copy(SEEDS / "001_794c705cbf82de55.txt", folder / "copy of 001.txt")
    (folder / "outside.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "secret.txt").write_text("A secret article outside the corpus folder.\n")
    (folder / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "linked-folder").symlink_to(tmp_path)
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    (folder / "noext").write_text("no extension here.\n")
    os.mkfifo(folder / "pipe.txt")  # reading it would block forever
    (folder / os.fsdecode(b"bad\xffname.txt")).write_text("A file whose name is not UTF-8.\n")
    # good files with awkward encodings and names
    (folder / "cp1252.txt").write_bytes(
        "date 2025-09-05\nCafé owners in Zürich said “prices” rose 5% in 2025 — the naïve plan failed.\n".encode("cp1252")
    )
    (folder / "latin1.txt").write_bytes("date 2025-09-06\nThe Ålesund fjord ferry carried 1,200 passengers, said Søren.\n".encode("latin-1"))
    (folder / "utf16.md").write_text("date 2025-09-07\nThe Kraków tram line opened on Friday.\n", encoding="utf-16")
    (folder / "Café news ü 2.txt").write_text("date 2025-09-08\nThe Zürich café reopened on Monday after repairs.\n")
    (folder / "inside-link.txt").symlink_to("cp1252.txt")  # inside the folder: same bytes, a duplicate
    good = {p.name for p in SEEDS.iterdir()} | {"cp1252.txt", "latin1.txt", "utf16.md", "Café news ü 2.txt"}
    problems = {
        "empty.txt", "blank.md", "binary.txt", "image.txt", "big.txt", "copy of 001.txt", "outside.txt", "dangling.txt",
        "loop.txt", "linked-folder", "notes.csv", "noext", "pipe.txt", "bad\ufffdname.txt", "inside-link.txt",
    }
    return folder, good, problems


def test_problem_files_get_one_line_each_and_good_files_are_ingested(messy, tmp_path, embedder):
    folder, good, problems = messy
    index_dir = tmp_path / "idx"
    began = time.monotonic()
    out = rag("ingest", str(folder), "--index", str(index_dir), timeout=300)
    assert out.returncode == 1, out.stderr  # something was skipped
    assert "Traceback" not in out.stderr
    skipped = [line for line in out.stderr.splitlines() if line.startswith("skipped ")]
    named = {line[len("skipped ") :].split(": ", 1)[0] for line in skipped}
    assert named == problems and len(skipped) == len(problems), skipped
    reasons = dict(line[len("skipped ") :].split(": ", 1) for line in skipped)
    assert reasons["empty.txt"] == "empty file" and reasons["blank.md"] == "empty file"
    assert reasons["binary.txt"].startswith("binary file") and reasons["image.txt"].startswith("binary file")
    assert "over the 5 MB limit (setting max_file_mb)" in reasons["big.txt"]
    assert reasons["copy of 001.txt"] == "duplicate of 001_794c705cbf82de55.txt"
    assert reasons["inside-link.txt"] == "duplicate of cp1252.txt"
    assert "outside the corpus folder" in reasons["outside.txt"]
    assert reasons["dangling.txt"] == reasons["loop.txt"] == "broken or looping symlink"
    assert reasons["linked-folder"] == "symlinked folder not followed"
    assert reasons["notes.csv"].startswith("unsupported file type .csv") and "(none)" in reasons["noext"]
    assert reasons["pipe.txt"] == "not a regular file"
    assert "not valid UTF-8" in reasons["bad\ufffdname.txt"]
    assert f"{len(good)} added" in out.stdout
    assert time.monotonic() - began < 120  # the 10 MB file is not embedded

    # The index loads, holds exactly the good files, and decoded the legacy encodings right.
    assert set(state(index_dir)) == good
    index = load_index(index_dir, {})
    assert "Zürich said “prices” rose 5% in 2025 — the naïve" in index.documents["cp1252.txt"].text
    assert "Ålesund" in index.documents["latin1.txt"].text and "Søren" in index.documents["latin1.txt"].text
    assert "Kraków" in index.documents["utf16.md"].text
    from rag import Assistant

    hits = Assistant.from_settings(Settings(index_dir=index_dir, llm_backend="fake"), embedder=embedder).search("Kraków tram", k=2)
    assert hits[0].source == "utf16.md"

    # Without the problem files the same command reports nothing and exits 0.
    for name in problems:
        path = folder / name.replace("\ufffd", "*")
        for p in folder.glob(path.name) if "*" in path.name else [path]:
            p.unlink()
    again = rag("ingest", str(folder), "--index", str(index_dir), timeout=300)
    assert again.returncode == 0 and "skipped" not in again.stderr, again.stderr
    assert f"{len(good)} unchanged" in again.stdout


def test_a_big_file_is_ingested_when_the_limit_allows(tmp_path, embedder):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "long.txt").write_text("date 2025-09-01\n" + "\n\n".join(f"Paragraph {i} says the port handled {i} ships." for i in range(3000)))
    report = ingest([folder], Settings(index_dir=tmp_path / "idx", max_file_mb=0.01), embedder)
    assert report.skipped["long.txt"].startswith("file is 0.1 MB, over the 0.01 MB limit")
    report = ingest([folder], Settings(index_dir=tmp_path / "idx", max_file_mb=1), embedder)
    assert report.added == ("long.txt",) and report.chunks > 50


# -- kill -9 while ingesting -----------------------------------------------------------------
def _holds_lock(pid: int, lock_file: Path) -> bool:
    try:
        inode = lock_file.stat().st_ino
    except FileNotFoundError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "FLOCK" in parts and str(pid) in parts and any(p.endswith(f":{inode}") for p in parts):
            return True
    return False


def _building(index_dir: Path) -> bool:
    versions = index_dir / "versions"
    return versions.is_dir() and any(p.name.startswith(".building-") for p in versions.iterdir())


def _write_variant(folder: Path, variant: int, articles: int = 40) -> dict[str, str]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    seeds = sorted(SEEDS.iterdir())
    for i in range(articles):
        text = seeds[i % len(seeds)].read_text(encoding="utf-8")
        (folder / f"a{i:03d}.txt").write_text(f"Desk report {i}, edition {variant}.\n\n{text}", encoding="utf-8")
    return corpus_state(folder)


def _ingest_and_kill(corpus: Path, index_dir: Path, when: str, delay: float) -> str:
    """Start `rag ingest`, SIGKILL it at ``when`` (+``delay`` s); return what it was doing."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.faces.cli", "ingest", str(corpus), "--index", str(index_dir)],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if (_holds_lock(proc.pid, index_dir / ".lock") if when == "locked" else _building(index_dir)):
                break
            time.sleep(0.002)
        else:
            pytest.fail(f"ingest ended before reaching {when}: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(delay)
        phase = "writing" if _building(index_dir) else ("finished" if proc.poll() is not None else "embedding")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return phase
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_mid_ingest_leaves_old_or_new_index_and_next_run_completes(tmp_path, seed_index):
    index_dir = tmp_path / "idx"
    shutil.copytree(seed_index, index_dir)
    corpus = tmp_path / "corpus"
    complete = state(index_dir)
    phases = []
    # (what to wait for, extra delay): right after the lock, mid-embedding, as the version folder
    # is being written, and a little later in writing.
    for variant, (when, delay) in enumerate([("locked", 0.0), ("locked", 2.5), ("building", 0.0), ("building", 0.3)]):
        target = _write_variant(corpus, variant)
        phases.append(_ingest_and_kill(corpus, index_dir, when, delay))
        now = state(index_dir)  # loads fully, or the test fails here
        assert now in (complete, target), f"kill at {when}+{delay}s left a mixed index"
        complete = now
    assert "embedding" in phases and "writing" in phases, phases

    target = _write_variant(corpus, 99)
    done = rag("ingest", str(corpus), "--index", str(index_dir), timeout=300)
    assert done.returncode == 0, done.stderr
    assert state(index_dir) == target
    assert [p.name for p in (index_dir / "versions").iterdir()] == [current_version(index_dir).name]  # no debris


def test_second_ingest_is_refused_while_one_runs(tmp_path, seed_index):
    index_dir = tmp_path / "idx"
    shutil.copytree(seed_index, index_dir)
    corpus = tmp_path / "corpus"
    target = _write_variant(corpus, 1)
    first = subprocess.Popen(
        [sys.executable, "-m", "rag.faces.cli", "ingest", str(corpus), "--index", str(index_dir)],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not _holds_lock(first.pid, index_dir / ".lock"):
            assert first.poll() is None and time.monotonic() < deadline, "first ingest never took the lock"
            time.sleep(0.01)
        second = rag("ingest", str(corpus), "--index", str(index_dir), timeout=120)
        assert second.returncode == 2
        assert error_lines(second.stderr) == [f"error: another ingest is writing {index_dir}; wait for it to finish and retry"]
        assert "Traceback" not in second.stderr
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert state(index_dir) == target


# -- damaged or mismatched indexes -----------------------------------------------------------
def _version(index_dir: Path) -> Path:
    return current_version(index_dir)


DAMAGE = {
    "truncated embeddings": lambda v: (v / "embeddings.npy").write_bytes((v / "embeddings.npy").read_bytes()[:1000]),
    "garbage faiss": lambda v: (v / "faiss.index").write_bytes(b"garbage" * 100),
    "truncated faiss": lambda v: (v / "faiss.index").write_bytes((v / "faiss.index").read_bytes()[:5000]),
    "truncated chunks": lambda v: (v / "chunks.jsonl").write_bytes((v / "chunks.jsonl").read_bytes()[:3000]),
    "a chunk line lost": lambda v: (v / "chunks.jsonl").write_text("".join((v / "chunks.jsonl").read_text().splitlines(True)[:-1])),
    "garbage manifest": lambda v: (v / "manifest.json").write_text("{not json"),
    "manifest not an object": lambda v: (v / "manifest.json").write_text("[1, 2]"),
    "documents missing": lambda v: (v / "documents.jsonl").unlink(),
    "documents wrong shape": lambda v: (v / "documents.jsonl").write_text('{"source": 1}\n'),
    "bm25 missing": lambda v: shutil.rmtree(v / "bm25"),
    "other embedding model": lambda v: _edit_manifest(v, embedding_model="all-mpnet-base-v2"),
    "other dimension": lambda v: _edit_manifest(v, embedding_dim=768),
    "other format version": lambda v: _edit_manifest(v, format_version=99),
    "other chunking": lambda v: _edit_manifest(v, chunking={"splitter": "tokens", "chunk_tokens": 512}),
    "pointer to nothing": lambda v: (v.parent.parent / "current").write_text("20990101-000000-gone"),
    "empty pointer": lambda v: (v.parent.parent / "current").write_text(""),
}


def _edit_manifest(version: Path, **changes) -> None:
    data = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**data, **changes}))


@pytest.fixture
def damaged(tmp_path, seed_index):
    def make(kind: str) -> Path:
        index_dir = tmp_path / kind.replace(" ", "-")
        shutil.copytree(seed_index, index_dir)
        DAMAGE[kind](_version(index_dir))
        return index_dir

    return make


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_index_gives_one_error_naming_the_fix(kind, damaged, embedder):
    index_dir = damaged(kind)
    settings = Settings(index_dir=index_dir)
    with pytest.raises((IndexMismatchError, IndexNotFoundError)) as err:
        load_index(index_dir, expected_manifest(settings, embedder))
    message = str(err.value)
    assert "\n" not in message and f"rag ingest --rebuild --index {index_dir}" in message or (
        isinstance(err.value, IndexNotFoundError) and f"rag ingest --index {index_dir}" in message
    )
    # `rag ingest` (no --rebuild) repairs it: a damaged or foreign index is rebuilt from the files.
    report = ingest([SEEDS], settings, embedder)
    assert len(report.added) == 4 and report.embedded == report.chunks
    assert set(load_index(index_dir, expected_manifest(settings, embedder)).documents) == {p.name for p in SEEDS.iterdir()}


def test_cli_reports_a_damaged_index_in_one_line(damaged):
    for kind, args in [
        ("truncated faiss", ["search", "trade"]),
        ("manifest not an object", ["search", "trade"]),
        ("other embedding model", ["ask", "What was China-Russia trade in 2024?", "--backend", "fake"]),
    ]:
        index_dir = damaged(kind)
        out = rag(*args, "--index", str(index_dir))
        assert out.returncode == 2 and "Traceback" not in out.stderr
        lines = error_lines(out.stderr)
        assert len(lines) == 1 and f"rag ingest --rebuild --index {index_dir}" in lines[0], out.stderr


# -- operating-system errors -----------------------------------------------------------------
def test_unwritable_index_folder_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = rag("ingest", str(SEEDS), "--index", str(blocker / "idx"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert error_lines(out.stderr) == [f"error: cannot write the index folder {blocker / 'idx'} (Not a directory)"]
    missing = rag("ingest", str(tmp_path / "no-such-folder"), "--index", str(tmp_path / "idx"))
    assert missing.returncode == 2 and error_lines(missing.stderr) == [f"error: {tmp_path / 'no-such-folder'} does not exist"]


def test_disk_error_while_writing_keeps_the_old_index(tmp_path, seed_index):
    """RLIMIT_FSIZE makes every write past 8 kB fail with EFBIG, like a full disk."""
    index_dir = tmp_path / "idx"
    shutil.copytree(seed_index, index_dir)
    before = state(index_dir)
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "new.txt").write_text("date 2025-09-09\nA new article about the harbor. It has two sentences.\n")

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (8000, 8000))

    out = rag("ingest", str(corpus), "--index", str(index_dir), preexec_fn=small_files, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    [line] = error_lines(out.stderr)
    assert line.startswith(f"error: could not write the index in {index_dir} (") and "File too large" in line
    assert line.endswith("the previous index is unchanged")
    assert state(index_dir) == before
    assert not _building(index_dir)


# -- a power loss and a file that cannot be read now -----------------------------------------
def test_switching_versions_fsyncs_every_folder_a_rename_changed(tmp_path, corpus, embedder, monkeypatch):
    """A rename is durable only once its folder is fsynced: versions/ after the new version moved
    in, the index folder after ``current`` named it; the version's own files and folders before."""
    index_dir = tmp_path / "idx"
    real_fsync = os.fsync
    synced: list[tuple[int, set[str], str | None]] = []  # (inode, its entries then, ``current`` then)

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        entries = set(os.listdir(fd)) if stat.S_ISDIR(st.st_mode) else set()
        pointer = index_dir / "current"
        synced.append((st.st_ino, entries, pointer.read_text() if pointer.is_file() else None))
        real_fsync(fd)

    settings = Settings(index_dir=index_dir)
    ingest([corpus], settings, embedder)
    old = current_version(index_dir)
    (corpus / "new.txt").write_text("date 2025-09-09\nA new article about the harbor. It has two sentences.\n")
    monkeypatch.setattr(os, "fsync", fsync)
    ingest([corpus], settings, embedder)
    new = current_version(index_dir)
    assert new != old

    inode = {path: path.stat().st_ino for path in (index_dir, index_dir / "versions", new, new / "bm25", new / "faiss.index")}
    versions_seen = [entries for ino, entries, _ in synced if ino == inode[index_dir / "versions"]]
    pointers_seen = [current for ino, _, current in synced if ino == inode[index_dir]]
    assert any(new.name in entries for entries in versions_seen), "versions/ not fsynced after the new version moved in"
    assert new.name in pointers_seen, "index folder not fsynced after current was switched"
    assert {inode[new], inode[new / "bm25"], inode[new / "faiss.index"]} <= {ino for ino, _, _ in synced}


def test_a_file_unreadable_on_reingest_keeps_its_previous_version(tmp_path, corpus, embedder, monkeypatch):
    """Running as root, chmod 000 would not stop a read, so the permission error is raised where
    the operating system would raise it. A deleted file is still removed."""
    settings = Settings(index_dir=tmp_path / "idx")
    ingest([corpus], settings, embedder)
    before = state(settings.index_dir)
    name = "002_ed8ed3a4a9ec07fd.txt"
    victim = corpus / name
    victim.write_text(victim.read_text(encoding="utf-8") + "\n\nA closing sentence added later.", encoding="utf-8")
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == victim:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_read_bytes(self)

    def search(query: str) -> list[str]:
        from rag import Assistant

        assistant = Assistant.from_settings(Settings(index_dir=settings.index_dir, llm_backend="fake"), embedder=embedder)
        return [hit.source for hit in assistant.search(query, k=2)]

    with monkeypatch.context() as patched:
        patched.setattr(Path, "read_bytes", read_bytes)
        report = ingest([corpus], settings, embedder)
    assert report.skipped == {name: "cannot read it now (Permission denied); its previous version stays in the index"}
    assert not report.removed and not report.updated and report.embedded == 0
    assert state(settings.index_dir) == before
    assert search("Putin and Xi Forge Alliances")[0] == name

    # Bytes that no longer decode (a save cut short) are the same: the old text stays searchable.
    victim.write_bytes(b"\x00\x01\x02" * 100)
    report = ingest([corpus], settings, embedder)
    assert report.skipped == {name: "binary file (NUL or control bytes), not text; its previous version stays in the index"}
    assert state(settings.index_dir) == before and search("Putin and Xi Forge Alliances")[0] == name

    victim.unlink()
    report = ingest([corpus], settings, embedder)
    assert report.removed == (name,) and not report.skipped
    assert name not in state(settings.index_dir)


@pytest.mark.parametrize("variable, value", [("RAG_TOP_K", "many"), ("RAG_JUDGE_EXCHANGE_MARGIN", "3"), ("RAG_CONTEXT_FILL", "maybe")])
def test_a_setting_that_cannot_be_read_is_one_line_naming_it(variable, value):
    out = subprocess.run([sys.executable, "-m", "rag.faces.cli", "ask", "Who won?"], capture_output=True, text=True, cwd=ROOT,
                         env={**ENV, variable: value})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert error_lines(out.stderr) == out.stderr.strip().splitlines()
    assert error_lines(out.stderr)[0].startswith(f"error: setting {variable}={value!r}:")
