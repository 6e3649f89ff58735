"""`facesearch video search|faces|results`: the subcommands' arguments, progress display and output."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from facesearch_cli import output, sources, video, video_report
from facesearch_cli.clients import Connection, s3_client

TICK = 0.5  # seconds between two redraws of the elapsed time while waiting for the next poll
HASH_BAR_BYTES = 64 << 20  # files this big show a bar while their sha256 is computed
EXIT_FAILED, EXIT_INTERRUPTED = 1, 130
NAMES = {video.SEARCH: "face search", video.DETECTION: "face detection"}

DESCRIPTION = """\
Stored-video jobs (StartFaceSearch / StartFaceDetection): the video is an s3://bucket/key the deployment may
read, or a local FILE that is first uploaded to --bucket. The command starts the job, shows its progress until
it ends and prints what it found; the job itself runs in the service.

Running the same command again attaches to the same job (its ClientRequestToken is derived from the video and
the parameters; the service keeps it 7 days) and uploads nothing twice. Ctrl-C leaves the job running and
prints its JobId for `facesearch video results JOB_ID`.

Exit status: 0 when the job SUCCEEDED, 1 when it FAILED (its StatusMessage is printed), 2 for an error
(printed as `facesearch: <code>: <message>`), 130 after Ctrl-C."""

WHERE = """\
FILE is uploaded to s3://BUCKET/facesearch-video/<sha256 prefix>/<file name> (multipart, with a progress bar;
skipped when that object holds the file already) with your own S3 credentials (--s3-profile,
--s3-endpoint-url); BUCKET must be one of the deployment's InputBuckets. An s3:// video is used as it is."""

SEARCH_EPILOG = WHERE + """

Output: one row per person the job followed through the video (its Index): when it is on screen (samples at
most --gap apart form one range, from the first sample to the last: 00:01.2-00:04.0), how many samples show
it, and its best match in the collection over all its samples (ExternalImageId, else FaceId, and the highest
Similarity), or "no match". --json prints GetFaceSearch's pages (SortBy INDEX) as JSON lines instead."""

FACES_EPILOG = WHERE + """

Output: the number of faces over time, one row per run of samples showing the same number of faces (times
without a face are not listed). --json prints GetFaceDetection's pages as JSON lines instead; they hold every
face's FaceDetail (with --attributes ALL: age range, gender, smile, emotions...)."""

RESULTS_EPILOG = """\
Waits for the job if it still runs, then prints as `video search` or `video faces` does (whichever started it).
Results are kept 7 days."""


def add_parsers(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    group = commands.add_parser("video", help="find a collection's people, or faces, in a stored video (a job)",
                                description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    subcommands = group.add_subparsers(dest="video_command", required=True, metavar="{search,faces,results}")
    raw = argparse.RawDescriptionHelpFormatter

    search = subcommands.add_parser("search", help="who of a collection is in a video, and when (StartFaceSearch)",
                                    description=DESCRIPTION, epilog=SEARCH_EPILOG, formatter_class=raw)
    search.add_argument("location", metavar="FILE|s3://bucket/key")
    search.add_argument("--collection", required=True)
    search.add_argument("--threshold", type=float, default=80.0,
                        help="FaceMatchThreshold: the lowest Similarity a match may have (default 80)")

    faces = subcommands.add_parser("faces", help="how many faces are on screen, and when (StartFaceDetection)",
                                   description=DESCRIPTION, epilog=FACES_EPILOG, formatter_class=raw)
    faces.add_argument("location", metavar="FILE|s3://bucket/key")
    faces.add_argument("--attributes", choices=["DEFAULT", "ALL"], default="DEFAULT",
                       help="FaceAttributes: ALL adds age range, gender, smile, emotions... to each face (in --json)")

    for sub in (search, faces):
        sub.add_argument("--bucket", help="the bucket a local FILE is uploaded to (required for a local FILE)")
        sub.add_argument("--key-prefix", default=video.KEY_PREFIX,
                         help=f"where in --bucket uploads go (default {video.KEY_PREFIX})")
        sub.add_argument("--new-job", action="store_true",
                         help="start a new job even if this command ran before (a FAILED job, a collection that "
                              "has changed since)")
        sub.add_argument("--no-wait", action="store_true", help="print the JobId and return once the job started")
        sub.add_argument("--s3-profile", help="profile for S3 (default: the standard AWS chain)")
        sub.add_argument("--s3-endpoint-url", help="S3 endpoint (default: $AWS_ENDPOINT_URL_S3)")

    results = subcommands.add_parser("results", help="wait for a job started before and print its results",
                                     description=RESULTS_EPILOG, formatter_class=raw)
    results.add_argument("job_id", metavar="JOB_ID")

    for sub in (search, faces, results):
        sub.add_argument("--gap", type=float, default=video_report.DEFAULT_GAP_MS / 1000,
                         help="samples at most this many seconds apart are one time range (default 1; never "
                              "less than 1.5 sampling steps)")
        sub.add_argument("--json", action="store_true", help="print the Get* pages as JSON lines")
        common(sub)


def run(args: argparse.Namespace, connection: Connection) -> int:
    if args.video_command == "results":
        rekognition = connection.rekognition()
        api = video.find_job(rekognition, args.job_id)
        return follow(rekognition, api, args.job_id, args, started_here=False)
    api, params = job_request(args)
    where = locate(args)
    rekognition = connection.rekognition()
    job_id = video.start(rekognition, api, where, params, new_job=args.new_job)
    print(f"{NAMES[api]} job {job_id} on {where.url}", file=sys.stderr)
    if args.no_wait:
        print(job_id)
        return 0
    return follow(rekognition, api, job_id, args, started_here=True)


def job_request(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The Start operation and its parameters (besides Video and ClientRequestToken)."""
    if args.video_command == "search":
        return video.SEARCH, {"CollectionId": args.collection, "FaceMatchThreshold": args.threshold}
    return video.DETECTION, {"FaceAttributes": args.attributes}


def note(text: str) -> None:
    print(f"facesearch: {text}", file=sys.stderr)


def locate(args: argparse.Namespace) -> video.VideoObject:
    """The video in S3: the s3:// location, or the local file uploaded (once) to --bucket."""
    if sources.is_s3(args.location):
        bucket, key = video.parse_s3(args.location)
        return video.s3_video(s3_client(args.s3_profile, args.region, args.s3_endpoint_url), bucket, key, warn=note)
    path = Path(args.location)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if not args.bucket:
        raise ValueError("a local FILE is uploaded first: name the bucket with --bucket (one of the deployment's "
                         "InputBuckets), or give an s3://bucket/key")
    s3 = s3_client(args.s3_profile, args.region, args.s3_endpoint_url)
    size = path.stat().st_size
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc="sha256", file=sys.stderr,
              leave=False, disable=size < HASH_BAR_BYTES) as bar:
        digest = video.sha256_of(path, bar.update)
    key = video.upload_key(args.key_prefix, digest, path.name)
    if video.holds(video.head(s3, args.bucket, key), size, digest):
        print(f"s3://{args.bucket}/{key} holds {path.name} already: not uploaded again", file=sys.stderr)
    else:
        with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=f"upload {path.name}",
                  file=sys.stderr, dynamic_ncols=True) as bar:
            video.upload(s3, path, args.bucket, key, digest, bar.update)
    return video.s3_video(s3, args.bucket, key, warn=note)


def follow(client: Any, api: str, job_id: str, args: argparse.Namespace, started_here: bool) -> int:
    """Wait for the job, then print its results; Ctrl-C leaves it running."""
    try:
        polls: list[str] = []
        last = wait_with_progress(client, api, job_id, polls)
        if started_here and polls[0] != video.IN_PROGRESS:
            note(f"job {job_id} had ended before: the same video and parameters were started earlier "
                 "(--new-job starts a new job)")
        if last["JobStatus"] != video.SUCCEEDED:
            if args.json:
                print(output.json_line(last))
            note(f"job {job_id} {last['JobStatus']}: {last.get('StatusMessage', '(no message)')}"
                 + (" (--new-job starts it again)" if started_here else ""))
            return EXIT_FAILED
        pages = video.pages(client, api, job_id, last)
        if args.json:
            for page in pages:
                print(output.json_line(page), flush=True)
        else:
            print(report(api, list(pages), round(args.gap * 1000)))
        return 0
    except KeyboardInterrupt:
        note(f"interrupted; job {job_id} goes on in the service (results are kept 7 days). To wait for it and "
             f"print them:\n  facesearch video results {job_id}\n"
             "(or run the same command again: it attaches to the same job)")
        return EXIT_INTERRUPTED


def wait_with_progress(client: Any, api: str, job_id: str, polls: list[str]) -> video.Page:
    """video.wait with an indeterminate display on stderr: the job's status and the time it has taken."""
    name = f"{NAMES[api]} job {job_id[:12]}…"
    with tqdm(total=None, file=sys.stderr, dynamic_ncols=True, bar_format="{desc} {elapsed}{postfix}",
              desc=f"{name} {video.IN_PROGRESS}") as bar:
        def on_poll(page: video.Page) -> None:
            polls.append(page["JobStatus"])
            bar.set_description_str(f"{name} {page['JobStatus']}", refresh=False)
            duration = (page.get("VideoMetadata") or {}).get("DurationMillis")
            if duration:
                bar.set_postfix_str(f"video {duration / 1000:.1f} s", refresh=False)
            bar.refresh()

        def sleep(seconds: float) -> None:
            until = time.monotonic() + seconds
            while (left := until - time.monotonic()) > 0:
                time.sleep(min(TICK, left))
                bar.refresh()

        return video.wait(client, api, job_id, on_poll, sleep)


def report(api: str, pages: list[video.Page], gap_ms: int) -> str:
    items = [item for page in pages for item in page.get(video.ITEMS[api], [])]
    gap = video_report.merge_gap((int(item["Timestamp"]) for item in items), gap_ms)
    samples = len({item["Timestamp"] for item in items})
    lines = [video_report.video_line(pages[0])]
    if api == video.SEARCH:
        persons = video_report.people(items)
        matched = sum(person.best is not None for person in persons)
        lines.append(f"{len(persons)} people seen in {samples} samples, {matched} of them matching the collection")
        if persons:
            lines += ["", output.table(video_report.PEOPLE_HEADER, video_report.people_rows(persons, gap))]
    else:
        counts = video_report.face_counts(items, gap)
        lines.append(f"{len(items)} faces in {samples} samples (times without a face are not listed)")
        if counts:
            lines += ["", output.table(video_report.FACES_HEADER, video_report.face_count_rows(counts))]
    return "\n".join(lines)
