"""What the embedded backend acknowledged survives a clean stop, a kill -9 and (with fsync) a power loss.

moto keeps its state in memory. Each durable service (S3, DynamoDB) gets a write-ahead log in the data
directory: local/backend.py appends every request answered 2xx that can change state, while it holds
the service's lock and before the answer leaves, so the log has every acknowledged write in the order it
took effect. At the next start the newest snapshot and the log after it are replayed into moto in this
process, before the backend listens.

    <data dir>/FACESEARCH-LOCAL-DATA      says what the directory is (a non-empty directory without it is refused)
    <data dir>/lock                       flock'ed by the running backend: one backend per directory
    <data dir>/<service>/snapshot-N.wal   the whole state as of its making (local/durable_dynamodb.py, _s3.py)
    <data dir>/<service>/log-N.wal        every acknowledged write since snapshot N (local/wal.py is the format)
    <data dir>/s3/objects/<sha256>        object bodies of the S3 snapshot, one file per distinct body

Restart time is bounded by the state, not its history: when replaying the log would take longer than
loading the snapshot (`Compaction`; checked at start and after each write), the service's state is
written to a temporary file and log N+1 is started (under the service's lock), then the file is fsync'ed
and renamed to snapshot N+1, and only then are snapshot N and log N deleted. A crash at any point leaves
snapshot N with its logs, or snapshot N+1 with its log, whole. A torn or damaged last record of a log (a
crash while it was written: it was never acknowledged) is cut off with a warning; it never stops the start.

Requests to other services (SNS, SQS, anything unsigned) are not logged: they stay in memory. A durable
service is a `StateModel`: which requests are writes, and how to write and load its state.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import io
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from local import wal
from local.moto_determinism import fixed

log = logging.getLogger("facesearch.local.durable")

MARKER = "FACESEARCH-LOCAL-DATA"
MARKER_TEXT = """\
The embedded S3 + DynamoDB of facesearch's `make serve`: write-ahead logs and snapshots (local/durable.py).
Delete this directory while `make serve` is stopped, or run `make serve FRESH=1`, to start empty.
"""
LOCK = "lock"
# the CGI variables of a request that moto reads; plus every HTTP_* header
CGI_KEYS = frozenset({"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "SERVER_NAME",
                      "SERVER_PORT", "SERVER_PROTOCOL", "REQUEST_URI", "RAW_URI"})
DROPPED_HEADERS = frozenset({"HTTP_TRANSFER_ENCODING", "HTTP_CONNECTION", "HTTP_KEEP_ALIVE", "HTTP_EXPECT"})

Meta = wal.Meta
Environ = dict[str, Any]
WSGIApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]


class DataDirError(Exception):
    """The data directory cannot be used (in use, not ours); the message says what to do."""


class StateModel(Protocol):
    """What one durable service knows about its own requests and state (local/durable_dynamodb.py, _s3.py)."""

    service: str

    def is_write(self, environ: Mapping[str, str]) -> bool:
        """Whether a 2xx answer to this request may have changed state (so it is logged)."""

    def observe(self, record: Record) -> None:
        """A logged write took effect: remember it if the snapshot has to carry it as a request."""

    def snapshot(self, blobs: Blobs) -> Iterator[tuple[Meta, bytes]]:
        """The whole state as records: requests to replay, then state records. Called under the lock.

        A record whose bodies went to `blobs` lists their names in meta["blobs"] (the others are deleted).
        """

    def restore(self, meta: Meta, body: bytes, blobs: Blobs) -> None:
        """Put one state record of a snapshot back into moto (raise to have it reported and skipped)."""

    def units(self) -> int:
        """How much state there is (items, objects), for the start report and the compaction rule."""

    @property
    def seconds_per_unit(self) -> float:
        """About what loading one unit from a snapshot takes (until a load of this process measures it)."""


@dataclass(frozen=True)
class Record:
    """One request as moto saw it: the environ's CGI variables and headers, the raw body, its time and seed."""

    environ: dict[str, str]
    body: bytes
    time: float
    seed: int

    def meta(self) -> Meta:
        return {"type": "request", "environ": self.environ, "time": self.time, "seed": self.seed}

    @classmethod
    def from_meta(cls, meta: Meta, body: bytes) -> Record:
        return cls(dict(meta["environ"]), body, float(meta["time"]), int(meta["seed"]))


def capture(environ: Mapping[str, Any]) -> dict[str, str]:
    """What of a request's environ a replay needs (not the connection, nor the already-read body stream)."""
    return {name: value for name, value in environ.items()
            if isinstance(value, str) and (name in CGI_KEYS or name.startswith("HTTP_"))
            and name not in DROPPED_HEADERS}


def replay(app: WSGIApp, record: Record) -> tuple[int, bytes]:
    """Run a recorded request through the app again, with its seed and time; (status code, answer body)."""
    environ: Environ = {
        **record.environ,
        "CONTENT_LENGTH": str(len(record.body)),
        "wsgi.input": io.BytesIO(record.body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "REMOTE_ADDR": "127.0.0.1",
    }
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
        statuses.append(status)
        return lambda _data: None

    with fixed(record.seed, record.time):
        result = app(environ, start_response)
        try:
            answer = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    return int(statuses[0].split(" ", 1)[0]), answer


class Blobs:
    """Object bodies kept as files named by their sha256, written once, shared by successive snapshots."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.unsynced: list[Path] = []  # written since the last sync

    def path(self, digest: str) -> Path:
        return self.directory / digest

    def write(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store a body (durable after `sync`); (sha256, size)."""
        import hashlib

        self.directory.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        temporary = self.directory / f".incoming-{os.getpid()}"
        with open(temporary, "wb") as file:
            for chunk in chunks:
                digest.update(chunk)
                file.write(chunk)
                size += len(chunk)
        name = digest.hexdigest()
        if self.path(name).exists():
            temporary.unlink()
        else:
            temporary.replace(self.path(name))
            self.unsynced.append(self.path(name))
        return name, size

    def sync(self) -> None:
        """Every body written since the last sync, and their names, on the disk (a compaction's second step,
        outside the service's lock)."""
        for path in self.unsynced:
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as file:  # gone: not named any more
                os.fsync(file.fileno())
        self.unsynced.clear()
        if self.directory.exists():
            wal.fsync_dir(self.directory)

    def read(self, digest: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        with open(self.path(digest), "rb") as file:
            while chunk := file.read(chunk_size):
                yield chunk

    def keep_only(self, referenced: set[str]) -> int:
        """Delete every body no snapshot names any more (and leftovers of a crash); returns how many."""
        removed = 0
        if not self.directory.exists():
            return 0
        for path in self.directory.iterdir():
            if path.name not in referenced:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def bytes_of(self, referenced: set[str]) -> int:
        return sum(self.path(digest).stat().st_size for digest in referenced if self.path(digest).exists())


@dataclass
class Report:
    """What one service's start found and did, for the start-up lines and the tests."""

    service: str
    snapshot: str = ""  # file name, "" without one
    snapshot_records: int = 0
    log_records: int = 0
    log_bytes: int = 0
    cut_bytes: int = 0
    failed_records: int = 0
    units: int = 0
    compacted: bool = False
    compact_seconds: float = 0.0  # of `seconds`, what writing the new snapshot took
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not (self.snapshot or self.log_records or self.cut_bytes):
            return f"{self.service}: nothing yet"
        unit = "objects" if self.service == "s3" else "items"
        parts = [f"{self.snapshot}: {self.snapshot_records:,} records" if self.snapshot else "no snapshot",
                 f"log: {self.log_records:,} records, {self.log_bytes:,} bytes"]
        if self.cut_bytes:
            parts.append(f"cut a torn tail of {self.cut_bytes:,} bytes")
        if self.failed_records:
            parts.append(f"{self.failed_records} records failed to replay")
        if self.compacted:
            parts.append(f"compacted in {self.compact_seconds:.1f} s")
        return f"{self.service}: {self.units:,} {unit} in {self.seconds:.1f} s ({'; '.join(parts)})"


@dataclass(frozen=True)
class Pending:
    """A compaction between its two steps: the snapshot written, not yet synced and renamed."""

    seq: int
    temporary: Path
    final: Path
    referenced: set[str]


@dataclass(frozen=True)
class Compaction:
    """When a log is folded into a new snapshot, at start and while running: replaying it would take longer
    than `min_seconds` and than `ratio` times loading the snapshot it would replace, or it holds more than
    `min_bytes` and more bytes than that snapshot with its bodies.

    So a restart spends at most about as long on the log as on the snapshot (both O(state)), and each
    compaction, which costs less than a load, follows at least as much logged work: amortised, it adds a
    fraction to each write. The replay time of a log is the time its requests took when they were served.
    """

    min_seconds: float = 5.0
    min_bytes: int = 256 << 20
    ratio: float = 1.0


class ServiceJournal:
    """One durable service's snapshot and log: replay at start, append while running, compaction."""

    def __init__(self, directory: Path, model: StateModel, fsync: bool, compaction: Compaction) -> None:
        self.directory = directory
        self.model = model
        self.fsync = fsync
        self.compaction = compaction
        self.blobs = Blobs(directory / "objects")
        self.seq = 0
        self.writer: wal.LogWriter | None = None
        self.log_records = 0
        self.log_seconds = 0.0  # what replaying the log would take: what its requests took
        self.state_bytes = 0
        self.state_units = 0
        self.snapshot_seconds = 0.0  # what loading the snapshot takes (measured at start, else estimated)
        self.seconds_per_unit = model.seconds_per_unit
        self.failed = ""  # why this service refuses requests: its log could not be written
        self.compacting = False
        self.compaction_failures = 0
        self._damaged: Path | None = None  # a snapshot restored as far as it reads, to set aside
        self._referenced: set[str] = set()  # the blobs the loaded snapshot names

    # --- files --------------------------------------------------------------------------------------

    def _path(self, kind: str, seq: int) -> Path:
        return self.directory / f"{kind}-{seq:08d}.wal"

    def _seqs(self, kind: str) -> list[int]:
        found = []
        for path in self.directory.glob(f"{kind}-*.wal"):
            with contextlib.suppress(ValueError):
                found.append(int(path.stem.split("-", 1)[1]))
        return sorted(found)

    def _header(self, kind: str, seq: int) -> Meta:
        import moto

        return {"kind": kind, "service": self.model.service, "seq": seq, "moto": moto.__version__,
                "created": time.time()}

    # --- start --------------------------------------------------------------------------------------

    def recover(self, app: WSGIApp) -> Report:
        """Replay the newest whole snapshot and every log after it into moto; compact if the log had records."""
        started = time.perf_counter()
        report = Report(self.model.service)
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob("*.tmp"):
            leftover.unlink()
        base = self._choose_snapshot(report)
        if base is not None:
            self._load_snapshot(app, base, report)
            self.snapshot_seconds = time.perf_counter() - started
            self.log_seconds = 0.0  # the snapshot's own requests are not log
            units = self.model.units()
            if units >= 1000:
                self.seconds_per_unit = self.snapshot_seconds / units
        logs = [seq for seq in self._seqs("log") if seq >= (base or 0)]
        for seq in logs:
            self._replay_log(app, seq, report)
        self.seq = max([base or 0, *logs])
        for kind in ("snapshot", "log"):  # superseded by the snapshot just loaded
            for seq in self._seqs(kind):
                if seq < (base or 0):
                    self._path(kind, seq).unlink()
        path = self._path("log", self.seq)
        self.writer = wal.LogWriter(path, self.fsync) if path.exists() else \
            wal.LogWriter.create(path, self._header("log", self.seq), self.fsync)
        self.log_records = report.log_records
        self.state_units = self.model.units()
        self.state_bytes = self._snapshot_bytes(base)
        if self._damaged is not None:
            self._damaged.replace(self._damaged.with_suffix(".damaged"))
        if self.wants_compaction() or len(logs) > 1 or self._damaged is not None:
            compacting = time.perf_counter()
            self.compact()
            report.compacted = True
            report.compact_seconds = time.perf_counter() - compacting
        else:
            self.blobs.keep_only(self._referenced)
        report.units = self.state_units
        report.seconds = time.perf_counter() - started
        return report

    def _choose_snapshot(self, report: Report) -> int | None:
        """The newest snapshot that reads whole up to its end record.

        A damaged one is set aside (renamed *.damaged) when an older snapshot and every log since it are
        there to take its place; otherwise what it holds is restored and it is set aside after compaction.
        """
        candidates = self._seqs("snapshot")
        for seq in reversed(candidates):
            path = self._path("snapshot", seq)
            problem = _check_snapshot(path)
            if not problem:
                return seq
            older = [s for s in candidates if s < seq]
            if older and all(self._path("log", s).exists() for s in range(older[-1], seq)):
                path.replace(path.with_suffix(".damaged"))
                report.warnings.append(f"{path.name}: {problem}; set aside as {path.stem}.damaged, "
                                       f"restoring snapshot {older[-1]} and the logs since")
                continue
            report.warnings.append(f"{path.name}: {problem}; restoring what it holds")
            self._damaged = path
            return seq
        return None

    def _load_snapshot(self, app: WSGIApp, seq: int, report: Report) -> None:
        path = self._path("snapshot", seq)
        report.snapshot = path.name
        reader = wal.LogReader(path)
        gc.disable()  # a load makes millions of objects and no garbage: the GC's passes over them are waste
        try:
            self._restore(app, reader, path, report)
        finally:
            gc.enable()
        self._warn_moto_version(reader.header, path, report)

    def _restore(self, app: WSGIApp, reader: wal.LogReader, path: Path, report: Report) -> None:
        for entry in reader:
            kind = entry.meta.get("type")
            if kind == "end":
                break
            report.snapshot_records += 1
            self._referenced.update(entry.meta.get("blobs", ()))
            try:
                if kind == "request":
                    self._apply(app, Record.from_meta(entry.meta, entry.body))
                else:
                    self.model.restore(entry.meta, entry.body, self.blobs)
            except Exception as error:  # one bad record must not cost the others
                report.failed_records += 1
                report.warnings.append(f"{path.name} @{entry.offset}: {type(error).__name__}: {error}")

    def _replay_log(self, app: WSGIApp, seq: int, report: Report) -> None:
        path = self._path("log", seq)
        reader = wal.LogReader(path)
        for entry in reader:
            report.log_records += 1
            try:
                self._apply(app, Record.from_meta(entry.meta, entry.body))
            except Exception as error:
                report.failed_records += 1
                report.warnings.append(f"{path.name} @{entry.offset}: {type(error).__name__}: {error}")
        if reader.problem:
            cut = wal.cut(path, reader.end)
            report.cut_bytes += cut
            report.warnings.append(f"{path.name}: {reader.problem} at byte {reader.end:,}; cut {cut:,} bytes "
                                   "(a write that was never acknowledged)")
        report.log_bytes += reader.end
        if not reader.header:  # no whole header: nothing in it was ever readable
            if path.stat().st_size:
                path.replace(path.with_suffix(".damaged"))
                report.warnings.append(f"{path.name}: no readable header; set aside as {path.stem}.damaged")
            else:
                path.unlink()
        self._warn_moto_version(reader.header, path, report)

    def _apply(self, app: WSGIApp, record: Record) -> None:
        started = time.perf_counter()
        status, answer = replay(app, record)
        self.log_seconds += time.perf_counter() - started
        if not 200 <= status < 300:
            raise RuntimeError(f"replay answered {status}: {answer[:300]!r}")
        self.model.observe(record)

    def _warn_moto_version(self, header: Meta, path: Path, report: Report) -> None:
        import moto

        written = header.get("moto")
        if written and written != moto.__version__:
            report.warnings.append(f"{path.name} was written by moto {written}; replayed with moto {moto.__version__}")

    def _snapshot_bytes(self, seq: int | None) -> int:
        return self._path("snapshot", seq).stat().st_size if seq is not None else 0

    # --- running ------------------------------------------------------------------------------------

    def append(self, record: Record, seconds: float) -> None:
        """Log one acknowledged write that took `seconds` in moto (the caller holds the service's lock and
        has not answered yet)."""
        if self.writer is None:
            raise RuntimeError("the journal was not recovered")
        self.writer.append(record.meta(), record.body)
        self.log_records += 1
        self.log_seconds += seconds
        self.model.observe(record)

    def wants_compaction(self) -> bool:
        if self.writer is None or self.compacting:
            return False
        rule = self.compaction
        backoff = 1 << min(self.compaction_failures, 10)  # after failures (a full disk), try less often
        return (self.log_seconds > backoff * max(rule.min_seconds, rule.ratio * self.snapshot_seconds)
                or self.writer.size > backoff * max(rule.min_bytes, self.state_bytes))

    def compact(self) -> None:
        """Fold the log into a new snapshot, both steps at once (at start; the caller holds the lock)."""
        pending = self.begin_compaction()
        if pending is not None:
            self.finish_compaction(pending)

    def begin_compaction(self) -> Pending | None:
        """The part that needs the service's lock (the caller holds it): the state written to a temporary
        snapshot file, log N+1 created and made the one appended to. None if that failed (never fatal).

        Until `finish_compaction` renames the snapshot into place, snapshot N, log N and log N+1 hold
        everything, so a crash in between loses nothing; afterwards snapshot N+1 and log N+1 do.
        """
        new = self.seq + 1
        final, next_path = self._path("snapshot", new), self._path("log", new)
        temporary = final.with_suffix(".tmp")
        next_log = None
        try:
            referenced = self._write_snapshot(temporary, new)
            next_log = wal.LogWriter.create(next_path, self._header("log", new), self.fsync)
        except Exception as error:  # never fatal: the old snapshot and log still hold everything
            temporary.unlink(missing_ok=True)
            if next_log is not None:
                next_log.close()
                next_path.unlink(missing_ok=True)
            self._failed_compaction(error)
            return None
        if self.writer is not None:
            self.writer.close()
        self.writer, self.seq, self.log_records, self.log_seconds = next_log, new, 0, 0.0
        return Pending(new, temporary, final, referenced)

    def finish_compaction(self, pending: Pending) -> None:
        """The part that needs no lock: the snapshot made durable and renamed into place, then what it
        replaces (older snapshots and logs, bodies no snapshot names) deleted."""
        try:
            with open(pending.temporary, "rb+") as file:
                os.fsync(file.fileno())
            self.blobs.sync()  # the bodies it names are durable before the snapshot is
            pending.temporary.replace(pending.final)
            wal.fsync_dir(self.directory)
        except Exception as error:
            pending.temporary.unlink(missing_ok=True)
            self._failed_compaction(error)
            return
        self.compaction_failures = 0
        for kind in ("snapshot", "log"):
            for seq in self._seqs(kind):
                if seq < pending.seq:
                    self._path(kind, seq).unlink(missing_ok=True)
        wal.fsync_dir(self.directory)
        self.blobs.keep_only(pending.referenced)
        self.state_units = self.model.units()
        self.state_bytes = pending.final.stat().st_size + self.blobs.bytes_of(pending.referenced)
        self.snapshot_seconds = self.state_units * self.seconds_per_unit

    def _failed_compaction(self, error: Exception) -> None:
        self.compaction_failures += 1
        log.warning("%s: compaction failed (%s: %s); the log goes on", self.model.service, type(error).__name__,
                    error)

    def _write_snapshot(self, path: Path, seq: int) -> set[str]:
        """The model's state as a snapshot file (not yet fsync'ed); the blobs it names."""
        writer = wal.LogWriter.create(path, self._header("snapshot", seq), fsync=False)
        count, referenced = 0, set()
        try:
            for meta, body in self.model.snapshot(self.blobs):
                writer.append(meta, body)
                count += 1
                referenced.update(meta.get("blobs", ()))
            writer.append({"type": "end", "records": count})
        finally:
            writer.close()
        return referenced

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _check_snapshot(path: Path) -> str:
    """"" if the snapshot reads whole up to its end record, else what is wrong with it."""
    reader = wal.LogReader(path)
    ended = False
    for count, entry in enumerate(reader):
        if entry.meta.get("type") == "end":
            ended = entry.meta.get("records") == count
            break
    if reader.problem:
        return reader.problem
    return "" if ended else "no end record"


class DataDir:
    """The directory one backend keeps its services' data in, locked against a second backend."""

    def __init__(self, path: Path, fresh: bool = False) -> None:
        self.path = path.resolve()
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)  # faces and their embeddings: the owner's only
        entries = sorted({entry.name for entry in self.path.iterdir()} - {MARKER, LOCK})
        if entries and not (self.path / MARKER).exists():
            raise DataDirError(f"{self.path} is not empty and is not a facesearch data directory (no {MARKER}); "
                               "choose another FACESEARCH_DATA_DIR")
        self._lock = self._take_lock()
        (self.path / MARKER).write_text(MARKER_TEXT)
        if fresh:
            for name in entries:
                target = self.path / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            wal.fsync_dir(self.path)

    def _take_lock(self) -> IO[str]:
        handle = open(self.path / LOCK, "a+")  # noqa: SIM115 (held open, and so locked, until the process ends)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise DataDirError(f"{self.path} is in use by another make serve (backend pid {holder}); stop it, "
                               "or set FACESEARCH_DATA_DIR to another directory") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return handle


class Journal:
    """The durable services of one data directory."""

    def __init__(self, data_dir: DataDir, models: Iterable[StateModel], fsync: bool = False,
                 compaction: Compaction | None = None) -> None:
        self.data_dir = data_dir
        self.services = {model.service: ServiceJournal(data_dir.path / model.service, model, fsync,
                                                       compaction or Compaction())
                         for model in models}

    def recover(self, app: WSGIApp) -> list[Report]:
        """Replay every service, then freeze what was loaded out of the cyclic GC's later passes."""
        reports = [journal.recover(app) for journal in self.services.values()]
        gc.collect()
        gc.freeze()
        return reports

    def get(self, service: str) -> ServiceJournal | None:
        return self.services.get(service)

    def close(self) -> None:
        for journal in self.services.values():
            journal.close()
