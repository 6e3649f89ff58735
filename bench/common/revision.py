"""Another commit's face pipeline, run beside today's: its own source, its own models, its own process.

    with Revision("b032831") as before, Revision.working_tree() as after:
        found = before.detect(paths)            # per image: [Face(box, score, landmarks), ...]
        stages = after.stages(jpeg_bytes)       # ms per pipeline stage, measured in that process

A bench that compares a pipeline with an older one checks the older commit out instead of keeping a copy of
its code. The first use of a commit
1. extracts it (`git archive`) into .cache/bench/revisions/<sha>/source,
2. builds its models with its own layers/models/build.py into .cache/bench/revisions/<sha>/models,
and later runs reuse both (a lock keeps two benches from building the same commit at once). Each Revision
then runs bench/common/revision_worker.py in a subprocess with PYTHONPATH=<source>/functions/api and this
venv's packages, and talks to it over a socket pair: images go in (paths, encoded bytes or pixel arrays),
plain data comes back, each answer with the seconds its work took in that process. `working_tree()` runs
today's code the same way (on the models of Settings.from_env()), so both sides of a comparison are measured
alike. The worker relies only on names every commit since the vision/ package (d81c96f) has (run with
b032831, e6ce1ec and b0e0cb2^1); see revision_worker.py.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from bench.common import progress
from bench.common.sets import REPO
from facesearch.settings import Settings

CACHE = REPO / ".cache" / "bench" / "revisions"
WORKER = Path(__file__).with_name("revision_worker.py")
# What the face pipeline's behaviour and speed depend on: a commit that changes none of these runs the same
# pipeline as its parent (the attribute models are not part of detection, alignment and embedding).
PIPELINE_PATHS = ("functions/api/facesearch/vision", ":(exclude)functions/api/facesearch/vision/attributes",
                  "layers/models/build.py", "layers/models/calibration")

ImageInput = Path | bytes | np.ndarray  # a file, an encoded image, or HxWx3 uint8 RGB pixels


@dataclass(frozen=True)
class Face:
    """One detected face as a revision reports it (pixels of the image it was given)."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    landmarks: np.ndarray  # (5, 2) x, y
    embedding: np.ndarray | None = None  # (128,) float32 unit vector, from analyze()


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout.strip()


def resolve(rev: str) -> str:
    """The full commit id of `rev` (a sha, a branch, HEAD~3, ...)."""
    try:
        return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"not a commit of {REPO}: {rev!r}") from None


def describe(sha: str) -> str:
    return git("log", "-1", "--format=%h %ad %<(72,trunc)%s", "--date=short", sha).rstrip()


def default_before(limit: int = 200) -> str:
    """The newest commit on HEAD's first-parent line whose pipeline (PIPELINE_PATHS) differs from the working
    tree's: HEAD itself when the pipeline has uncommitted changes, else the commit before the last change."""
    for sha in git("rev-list", "--first-parent", f"--max-count={limit}", "HEAD").split():
        if subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", sha, "--", *PIPELINE_PATHS]).returncode:
            return sha
    raise SystemExit(f"no commit among the last {limit} has another pipeline; pass --before REV")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def materialise(sha: str) -> Path:
    """The commit's files (git archive), extracted once into the cache."""
    source = CACHE / sha / "source"
    if (source / ".complete").is_file():
        return source
    with _locked(CACHE / sha / "lock"):
        if not (source / ".complete").is_file():
            started = time.perf_counter()
            shutil.rmtree(source, ignore_errors=True)
            with tempfile.TemporaryFile() as archive:
                subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", sha], stdout=archive, check=True)
                archive.seek(0)
                with tarfile.open(fileobj=archive) as tar:
                    tar.extractall(source, filter="data")
            (source / ".complete").write_text(sha + "\n")
            progress.log(f"{sha[:9]}: extracted into {source} in {time.perf_counter() - started:.1f} s")
    return source


def build_models(sha: str, source: Path) -> Path:
    """The commit's models, built once by its own layers/models/build.py (its output goes to stderr)."""
    models = CACHE / sha / "models"
    done = CACHE / sha / "models.complete"
    if done.is_file():
        return models
    with _locked(CACHE / sha / "lock"):
        if not done.is_file():
            progress.log(f"{sha[:9]}: building its models with its own layers/models/build.py (once per commit)")
            started = time.perf_counter()
            env = {**os.environ, "PYTHONPATH": str(source / "functions" / "api")}
            subprocess.run([sys.executable, str(source / "layers" / "models" / "build.py"), "--out", str(models)],
                           cwd=source, env=env, stdout=sys.stderr, check=True)
            done.write_text(f"{time.perf_counter() - started:.0f} s\n")
            progress.log(f"{sha[:9]}: models built in {time.perf_counter() - started:.0f} s")
    return models


class Revision:
    """One commit's pipeline in a worker process; use it as a context manager (the worker stops on exit)."""

    def __init__(self, rev: str | None, threads: int = 1, variant: str = "int8") -> None:
        self.threads, self.variant = threads, variant
        if rev is None:  # the working tree, on the models the service would load
            changed = git("status", "--porcelain", "--", *PIPELINE_PATHS)
            self.sha, self.title = "", f"the working tree ({git('rev-parse', '--short', 'HEAD')}" + (
                ", with uncommitted pipeline changes)" if changed else ")")
            self.source, self.models = REPO, Settings.from_env().model_dir
        else:
            self.sha = resolve(rev)
            self.title = describe(self.sha)
            self.source, self.models = materialise(self.sha), Path()
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self.info: dict[str, str] = {}

    @classmethod
    def working_tree(cls, threads: int = 1, variant: str = "int8") -> Revision:
        return cls(None, threads, variant)

    @property
    def label(self) -> str:
        return self.sha[:9] if self.sha else "working tree"

    def start(self) -> Revision:
        if self.sha:
            self.models = build_models(self.sha, self.source)
        parent, child = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": str(self.source / "functions" / "api")}
        self._process = subprocess.Popen(
            [sys.executable, "-P", str(WORKER), str(child.fileno()), str(self.models), str(self.threads),
             self.variant], env=env, pass_fds=[child.fileno()], stdout=sys.stderr, cwd=self.source)
        child.close()
        self._connection = Connection(parent.detach())
        self._answer()  # "ready", or the worker's traceback
        self.info = self.call("info")
        expected = (self.source / "functions" / "api").resolve()
        if not Path(self.info["facesearch"]).resolve().is_relative_to(expected):
            raise RuntimeError(f"{self.label}: the worker imported {self.info['facesearch']}, not {expected}")
        return self

    def stop(self) -> None:
        if self._connection is not None:
            with suppress(OSError):
                self._connection.send(None)
            self._connection.close()
            self._connection = None
        if self._process is not None:
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def __enter__(self) -> Revision:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _answer(self) -> tuple[Any, float]:
        assert self._connection is not None, "start the Revision first (use it in a with block)"
        try:
            status, result, seconds = self._connection.recv()
        except EOFError:
            raise RuntimeError(f"{self.label}: the worker exited (its output is above)") from None
        if status != "ok":
            raise RuntimeError(f"{self.label}: the worker failed:\n{result}")
        return result, float(seconds)

    def timed(self, operation: str, **args: Any) -> tuple[Any, float]:
        """(result, seconds its work took in the worker) of one request."""
        assert self._connection is not None, "start the Revision first (use it in a with block)"
        self._connection.send((operation, args))
        return self._answer()

    def call(self, operation: str, **args: Any) -> Any:
        return self.timed(operation, **args)[0]

    @staticmethod
    def _image(image: ImageInput) -> str | bytes | np.ndarray:
        return str(Path(image).resolve()) if isinstance(image, Path) else image

    def detect_one(self, image: ImageInput) -> list[Face]:
        return [_face(face) for face in self.call("detect", image=self._image(image))]

    def detect(self, images: Iterable[ImageInput]) -> list[list[Face]]:
        """Every face of every image, largest first, as the revision's detector finds them."""
        return [self.detect_one(image) for image in images]

    def analyze_one(self, image: ImageInput) -> list[Face]:
        return [_face(face) for face in self.call("analyze", image=self._image(image))]

    def analyze(self, images: Iterable[ImageInput]) -> list[list[Face]]:
        """detect -> align -> embed per image (FacePipeline.analyze): every face with its embedding."""
        return [self.analyze_one(image) for image in images]

    def embed(self, image: ImageInput, faces: Sequence[Face]) -> np.ndarray:
        """(n, 128) embeddings of `faces` of `image`: aligned and embedded by the revision."""
        vectors: np.ndarray = self.call("embed", image=self._image(image), landmarks=[f.landmarks for f in faces])
        return vectors

    def embed_crops(self, crops: np.ndarray, flip: bool = True) -> tuple[np.ndarray, float]:
        """(embeddings, seconds) of aligned 112 x 112 crops, with or without the mirror image."""
        vectors, seconds = self.timed("embed_crops", crops=crops, flip=flip)
        return np.asarray(vectors), seconds

    def stages(self, blob: bytes) -> dict[str, float]:
        """ms per stage of one encoded photo (see the worker's `stages`), and "faces"."""
        result: dict[str, float] = self.call("stages", image=blob)
        return result

    def passes(self, image: ImageInput) -> int:
        """How many times the detector ran its network on the image."""
        return int(self.call("passes", image=self._image(image)))


def introduce(contenders: Mapping[str, Revision], chosen: bool) -> str:
    """Lines that say which pipeline each contender runs, and why "before" is that commit."""
    lines = [f"{name}: {who.title}; models {Path(who.info['detector']).name} + {Path(who.info['embedder']).name}"
             f" in {who.models}" for name, who in contenders.items()]
    lines.append("(before: chosen with --before)" if chosen else
                 "(before: the newest commit on HEAD's first-parent line whose face pipeline differs from the "
                 "working tree's; --before REV picks another)")
    return "\n".join(lines)


def _face(raw: dict[str, Any]) -> Face:
    x1, y1, x2, y2 = raw["box"]
    return Face((x1, y1, x2, y2), raw["score"], raw["landmarks"], raw["embedding"])
