"""A cold start, measured: a fresh process importing the handler, building its services, loading the models
and answering its first DetectFaces, repeated in new processes.

    .venv/bin/python -m bench.cold_start              # 7 fresh processes
    .venv/bin/python -m bench.cold_start --runs 15 --threads 1

Each phase is timed in wall time and in the process's own CPU time (the machine is shared: CPU time is what
the phase costs, wall time what it took here). `--importtime` also prints the slowest imports of one run
(`python -X importtime`). A benchmark: it prints numbers and asserts nothing. With SnapStart (template.yaml)
the deployed function pays these phases once, before its snapshot, not on every cold start.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from bench.common import cli
from bench.common.sets import REPO

PHOTO = REPO / "tests" / "fixtures" / "faces" / "london_021_neutral.jpg"
PHASES = ("import app", "build services", "load models", "first DetectFaces (decode + analyze)")

CHILD = r"""
import json, sys, time
marks = [(time.perf_counter(), time.process_time())]
import app
marks.append((time.perf_counter(), time.process_time()))
from facesearch import services
warm = services.services()
marks.append((time.perf_counter(), time.process_time()))
pipeline = warm.pipeline()
marks.append((time.perf_counter(), time.process_time()))
from facesearch.vision.image_decoder import decode_image
pipeline.analyze(decode_image(open(sys.argv[1], "rb").read()), with_embeddings=False)
marks.append((time.perf_counter(), time.process_time()))
print(json.dumps([[1000 * (b[0] - a[0]), 1000 * (b[1] - a[1])] for a, b in zip(marks, marks[1:])]))
"""


def environment(threads: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(POWERTOOLS_TRACE_DISABLED="false", POWERTOOLS_METRICS_DISABLED="true",
               FACESEARCH_INTRA_OP_THREADS=str(threads), PYTHONDONTWRITEBYTECODE="1")
    return env


def one_run(threads: int) -> list[list[float]]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(PHOTO)], capture_output=True, text=True, check=True,
                         env=environment(threads), cwd=REPO)
    timings: list[list[float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return timings


def slowest_imports(threads: int, count: int = 15) -> list[tuple[int, str]]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], capture_output=True, text=True,
                         env=environment(threads), cwd=REPO)
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (part.strip() for part in line.split("|"))
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:count]


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args(argv)
    runs = [one_run(args.threads) for _ in range(args.runs)]
    print(f"cold start in {args.runs} fresh processes (medians; {args.threads} onnxruntime thread(s); "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"  {'phase':40} {'wall ms':>9} {'CPU ms':>9}")
    totals = [0.0, 0.0]
    for i, phase in enumerate(PHASES):
        wall = statistics.median(run[i][0] for run in runs)
        cpu = statistics.median(run[i][1] for run in runs)
        totals = [totals[0] + wall, totals[1] + cpu]
        print(f"  {phase:40} {wall:9.0f} {cpu:9.0f}")
    first_three = [sum(run[i][k] for i in range(3)) for k in (0, 1) for run in runs]
    import_load_wall = statistics.median(first_three[: args.runs])
    import_load_cpu = statistics.median(first_three[args.runs :])
    print(f"  {'import + services + model load':40} {import_load_wall:9.0f} {import_load_cpu:9.0f}   (target <= 1,000)")
    print(f"  {'all four':40} {totals[0]:9.0f} {totals[1]:9.0f}")
    if args.importtime:
        print("\nslowest imports of one run (cumulative microseconds, python -X importtime):")
        for micros, name in slowest_imports(args.threads):
            print(f"  {micros:>9,}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
