"""The `facesearch` command: argument parsing and one function per subcommand."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from facesearch_cli import bulk, output, sources, transfer, video_command
from facesearch_cli.clients import Connection, s3_client
from facesearch_cli.state import IndexState, default_path


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="the facesearch endpoint (default: $AWS_ENDPOINT_URL)")
    parser.add_argument("--region", help="AWS region (default: the profile's, $AWS_REGION / $AWS_DEFAULT_REGION)")
    parser.add_argument("--profile", help="a profile of ~/.aws/credentials holding the facesearch key pair")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facesearch", description=(
        "Bulk indexing, every-face search, export/import, faces by ExternalImageId and stored-video face search "
        "for a facesearch endpoint (AWS credentials, region and --endpoint-url as for the aws CLI)."))
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="index every image under a folder or s3://bucket/prefix")
    index.add_argument("location", help="a file, a folder, or s3://bucket/prefix")
    index.add_argument("--collection", required=True)
    index.add_argument("--workers", type=int, default=8, help="concurrent IndexFaces requests (default 8)")
    index.add_argument("--state", type=Path, help="the resume file (default ~/.cache/facesearch/index-*.jsonl)")
    index.add_argument("--create", action="store_true", help="create the collection if it does not exist")
    index.add_argument("--s3-profile", help="profile for listing s3:// (default: the standard AWS chain)")
    index.add_argument("--s3-endpoint-url", help="S3 endpoint for listing s3:// (default: $AWS_ENDPOINT_URL_S3)")

    search = commands.add_parser("search", help="search a collection for the faces of an image")
    search.add_argument("image", type=Path)
    search.add_argument("--collection", required=True)
    search.add_argument("--all-faces", action="store_true", help="search every face, not only the largest")
    search.add_argument("--max-faces", type=int, default=5, help="matches per face (default 5)")
    search.add_argument("--threshold", type=float, default=80.0, help="minimum Similarity (default 80)")
    search.add_argument("--json", action="store_true", help="print the service's answer as JSON")

    export = commands.add_parser("export", help="write a collection's faces and embeddings to a file")
    export.add_argument("--collection", required=True)
    export.add_argument("--output", "-o", type=Path, required=True)

    load = commands.add_parser("import", help="import an export file into a collection")
    load.add_argument("file", type=Path)
    load.add_argument("--collection", required=True)
    load.add_argument("--create", action="store_true", help="create the collection if it does not exist")

    faces = commands.add_parser("faces", help="faces of one ExternalImageId")
    faces.add_argument("action", choices=["list", "delete"])
    faces.add_argument("--collection", required=True)
    faces.add_argument("--external-image-id", required=True)
    faces.add_argument("--json", action="store_true")

    for sub in (index, search, export, load, faces):
        _common(sub)
    video_command.add_parsers(commands, _common)
    return parser


def ensure_collection(client: Any, collection: str) -> None:
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        client.create_collection(CollectionId=collection)


def run_index(args: argparse.Namespace, connection: Connection) -> int:
    rekognition = connection.rekognition()
    if args.create:
        ensure_collection(rekognition, args.collection)
    if sources.is_s3(args.location):
        s3 = s3_client(args.s3_profile, args.region, args.s3_endpoint_url)
        found = list(sources.s3_sources(s3, args.location))
    else:
        found = list(sources.local_sources(Path(args.location)))
    state = IndexState(args.state or default_path(connection.endpoint_url or "aws", args.collection))
    todo = sum(source.identity not in state for source in found)
    print(f"{len(found)} images, {len(found) - todo} indexed before (state {state.path}), {todo} to index "
          f"with {args.workers} workers", file=sys.stderr)
    with tqdm(total=todo, unit="img", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(summary: bulk.Summary) -> None:
            bar.update(1)
            bar.set_postfix(faces=summary.faces, failed=len(summary.failures), refresh=False)

        summary = bulk.index_all(rekognition, args.collection, found, state, args.workers, progress)
    rate = summary.indexed / summary.seconds if summary.seconds else 0.0
    print(f"indexed {summary.indexed} images ({summary.faces} faces, {summary.without_faces} without a face), "
          f"skipped {summary.skipped} already indexed, {len(summary.failures)} failed, in {summary.seconds:.1f} s "
          f"({rate:.1f} images/s)")
    if summary.failures:
        print("\nfailures:")
        print(output.table(("file", "error"), [(failure.name, failure.error) for failure in summary.failures]))
    return 1 if summary.failures else 0


def run_search(args: argparse.Namespace, connection: Connection) -> int:
    image = {"Bytes": args.image.read_bytes()}
    params = {"CollectionId": args.collection, "Image": image, "MaxFaces": args.max_faces,
              "FaceMatchThreshold": args.threshold}
    if args.all_faces:
        answer = connection.extensions().search_all_faces_by_image(**params)
        searched = answer["SearchedFaces"]
    else:
        try:
            answer = connection.rekognition().search_faces_by_image(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] != "InvalidParameterException" or "no faces" not in str(error):
                raise
            answer = {"FaceMatches": []}
            searched = []
        else:
            searched = [{"BoundingBox": answer["SearchedFaceBoundingBox"], "FaceMatches": answer["FaceMatches"]}]
    answer.pop("ResponseMetadata", None)
    if args.json:
        print(output.as_json(answer))
    elif not searched:
        print("no face in the image")
    else:
        print(output.table(output.SEARCH_HEADER, output.search_rows(searched)))
    return 0


def run_export(args: argparse.Namespace, connection: Connection) -> int:
    with args.output.open("w", encoding="utf-8") as out, tqdm(unit="face", file=sys.stderr) as bar:
        count = transfer.export_to(connection.extensions(), args.collection, out, bar.update)
    print(f"exported {count} faces of {args.collection} to {args.output}")
    return 0


def run_import(args: argparse.Namespace, connection: Connection) -> int:
    header, faces = transfer.read_export(args.file)
    if args.create:
        ensure_collection(connection.rekognition(), args.collection)
    with tqdm(unit="face", file=sys.stderr) as bar:
        imported, existing = transfer.import_from(connection.extensions(), args.collection, header, faces,
                                                  bar.update)
    print(f"imported {imported} faces into {args.collection}; {existing} were there already")
    return 0


def run_faces(args: argparse.Namespace, connection: Connection) -> int:
    client = connection.extensions()
    params = {"CollectionId": args.collection, "ExternalImageId": args.external_image_id}
    if args.action == "list":
        listed = client.get_paginator("list_faces_by_external_image_id").paginate(**params).build_full_result()
        faces = listed["Faces"]
        print(output.as_json(faces) if args.json else output.table(output.FACES_HEADER, output.face_rows(faces)))
        return 0
    done = client.get_paginator("delete_faces_by_external_image_id").paginate(**params).build_full_result()
    if args.json:
        print(output.as_json({key: done.get(key, []) for key in ("DeletedFaces", "UnsuccessfulFaceDeletions")}))
    else:
        print(f"deleted {len(done.get('DeletedFaces', []))} faces")
        for failed in done.get("UnsuccessfulFaceDeletions", []):
            print(f"  not deleted: {failed['FaceId']} ({', '.join(failed['Reasons'])}"
                  + (f", user {failed['UserId']})" if failed.get("UserId") else ")"))
    return 0


COMMANDS = {"index": run_index, "search": run_search, "export": run_export, "import": run_import,
            "faces": run_faces, "video": video_command.run}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, Connection.from_args(args))
    except ClientError as error:
        print(f"facesearch: {bulk.error_text(error)}", file=sys.stderr)
        return 2
    except (BotoCoreError, OSError, ValueError) as error:
        print(f"facesearch: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facesearch: interrupted (run the same command again to resume)", file=sys.stderr)
        return 130

