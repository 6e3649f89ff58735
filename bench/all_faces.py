"""SearchAllFacesByImage against what a Rekognition client does without it, in the same run.

A collage of 12 London studio faces (neutral photos) is searched in a gallery of the same people's smiling
photos plus 40 strangers (Canada set), two ways, alternating round by round:
- one call: SearchAllFacesByImage on the collage;
- per face: DetectFaces on the collage, then for each face a crop (50 % margin, re-encoded as JPEG) sent to
  SearchFacesByImage, the usual workaround (one decode, detection and embedding per face, plus a round trip).
Client wall times (medians), their ratio, the requests each needs, and whether both find the same best match
for every face. Then, in this process, what each stage of the pipeline costs (the same models and threads as
the server), which bounds the ratio: the embedding of each face is work both ways must do.

    .venv/bin/python -m bench.all_faces [--rounds 7] [--faces 12]
"""

from __future__ import annotations

import argparse
import io
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from PIL import Image

from bench.common import data, report, server
from facesearch_cli.clients import EXTENSION_MODELS

COLLECTION = "bench-all-faces"
TILE = 320  # px height of each face photo in the collage
MARGIN = 0.5  # of the box, on every side of a crop, as a client would cut it (tight crops are found too)


def extension_client(endpoint: server.Endpoint) -> Any:
    """The extension model's client, as a user builds it (the model on botocore's search path)."""
    import botocore.session

    core = botocore.session.Session()
    core.get_component("data_loader").search_paths.insert(0, str(EXTENSION_MODELS))
    session: Any = boto3.session.Session(botocore_session=core)
    return session.client("facesearch", endpoint_url=endpoint.url, region_name=endpoint.region,
                          aws_access_key_id=endpoint.key_id, aws_secret_access_key=endpoint.secret,
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=600))


def collage(photos: Sequence[Path], per_row: int = 4) -> bytes:
    tiles = []
    for path in photos:
        image = Image.open(path).convert("RGB")
        tiles.append(image.resize((round(image.width * TILE / image.height), TILE)))
    width = max(tile.width for tile in tiles)
    rows = -(-len(tiles) // per_row)
    canvas = Image.new("RGB", (width * per_row, TILE * rows), "white")
    for i, tile in enumerate(tiles):
        canvas.paste(tile, ((i % per_row) * width, (i // per_row) * TILE))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=90)
    return out.getvalue()


def crop(image: Image.Image, box: dict[str, float]) -> bytes:
    w, h = box["Width"] * image.width, box["Height"] * image.height
    left, top = box["Left"] * image.width - MARGIN * w, box["Top"] * image.height - MARGIN * h
    part = image.crop((max(0, round(left)), max(0, round(top)), min(image.width, round(left + w * (1 + 2 * MARGIN))),
                       min(image.height, round(top + h * (1 + 2 * MARGIN)))))
    out = io.BytesIO()
    part.save(out, format="JPEG", quality=92)
    return out.getvalue()


def center(box: dict[str, float]) -> tuple[float, float]:
    return box["Left"] + box["Width"] / 2, box["Top"] + box["Height"] / 2


def one_call(client: Any, image: bytes) -> dict[tuple[int, int], str | None]:
    answer = client.search_all_faces_by_image(CollectionId=COLLECTION, Image={"Bytes": image}, MaxFaces=5)
    return {cell(face["BoundingBox"]): face["FaceMatches"][0]["Face"]["FaceId"] if face["FaceMatches"] else None
            for face in answer["SearchedFaces"]}


def per_face(rekognition: Any, image: bytes) -> dict[tuple[int, int], str | None]:
    decoded = Image.open(io.BytesIO(image)).convert("RGB")
    found: dict[tuple[int, int], str | None] = {}
    for detail in rekognition.detect_faces(Image={"Bytes": image})["FaceDetails"]:
        try:
            matches = rekognition.search_faces_by_image(CollectionId=COLLECTION, MaxFaces=5,
                                                        Image={"Bytes": crop(decoded, detail["BoundingBox"])}
                                                        )["FaceMatches"]
        except rekognition.exceptions.InvalidParameterException:  # no face found in the crop
            matches = []
        found[cell(detail["BoundingBox"])] = matches[0]["Face"]["FaceId"] if matches else None
    return found


GRID: tuple[int, int] = (4, 3)


def cell(box: dict[str, float]) -> tuple[int, int]:
    """Which collage tile a box is in: how the two methods' faces are paired."""
    x, y = center(box)
    return int(x * GRID[0]), int(y * GRID[1])


def build_gallery(rekognition: Any, shared: Path, people: int) -> dict[str, str]:
    """Index every London smiling photo and the Canada strangers; FaceId -> the person's photo id."""
    rekognition.create_collection(CollectionId=COLLECTION)
    owners: dict[str, str] = {}
    gallery = data.london_photos(shared, "smiling_front") + data.canada_photos(shared)
    for i, path in enumerate(gallery):
        record = rekognition.index_faces(CollectionId=COLLECTION, Image={"Bytes": path.read_bytes()},
                                         ExternalImageId=path.stem, MaxFaces=1)["FaceRecords"]
        if record:
            owners[record[0]["Face"]["FaceId"]] = path.stem.split("_")[0]
        if (i + 1) % 50 == 0:
            report.log(f"gallery: {i + 1}/{len(gallery)} photos indexed")
    return owners


def stage_costs(image: bytes, rounds: int = 5) -> dict[str, float]:
    """Median ms of the pipeline's stages on the collage and on one face's crop, in this process."""
    import numpy as np

    from facesearch.settings import Settings
    from facesearch.vision.aligner import align
    from facesearch.vision.image_decoder import decode_image
    from facesearch.vision.pipeline import get_pipeline

    settings = Settings.from_env()
    pipeline = get_pipeline("int8", settings.model_dir, settings.intra_op_threads)
    decoded = decode_image(image)
    detections = pipeline.detector.detect(decoded.pixels)
    source = Image.fromarray(decoded.pixels)
    crops = np.stack([align(source, d.landmarks) for d in detections])
    x1, y1, x2, y2 = detections[0].box
    one = crop(source, {"Left": x1 / decoded.width, "Top": y1 / decoded.height, "Width": (x2 - x1) / decoded.width,
                        "Height": (y2 - y1) / decoded.height})
    stages = {
        "detect the collage": lambda: pipeline.detector.detect(decoded.pixels),
        f"embed its {len(crops)} faces (one batch)": lambda: pipeline.embedder.embed(crops),
        "decode + detect one face's crop": lambda: pipeline.detector.detect(decode_image(one).pixels),
        "embed one face": lambda: pipeline.embedder.embed(crops[:1]),
    }
    pipeline.analyze(decoded)  # warm
    return {name: 1000 * statistics.median(report.timed(run)[1] for _ in range(rounds)) for name, run in stages.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--faces", type=int, default=12, help="faces in the collage (4 a row)")
    args = parser.parse_args(argv)
    shared = data.shared_dir()
    if shared is None:
        print("SKIP: the shared face sets are missing (set FACESEARCH_SHARED)")
        return 0
    global GRID
    GRID = (4, -(-args.faces // 4))
    endpoint = server.start_server(startup_timeout=120)
    try:
        rekognition, extensions = server.rekognition(endpoint), extension_client(endpoint)
        owners = build_gallery(rekognition, shared, args.faces)
        photos = data.london_photos(shared, "neutral_front")[: args.faces]
        image = collage(photos)
        truth = {(i % 4, i // 4): path.stem.split("_")[0] for i, path in enumerate(photos)}
        one_call(extensions, image), per_face(rekognition, image)  # warm both paths
        times: dict[str, list[float]] = {"SearchAllFacesByImage (1 call)": [], "DetectFaces + crop + "
                                         "SearchFacesByImage per face": []}
        answers: dict[str, dict[tuple[int, int], str | None]] = {}
        for round_ in range(args.rounds):
            order = [(0, one_call, extensions), (1, per_face, rekognition)]
            for index, run, client in order if round_ % 2 == 0 else order[::-1]:
                label = list(times)[index]
                answers[label], seconds = report.timed(run, client, image)
                times[label].append(seconds)
            report.log(f"round {round_ + 1}/{args.rounds}")
    finally:
        endpoint.stop()
    (fast, fast_times), (slow, slow_times) = times.items()
    rows = [report.latency_row(label, values) for label, values in times.items()]
    print(report.table(f"Searching every face of a {len(photos)}-face collage in a {len(owners)}-face gallery "
                       f"({args.rounds} alternating rounds)", report.LATENCY_HEADER, rows))
    ratio = statistics.median(slow_times) / statistics.median(fast_times)
    print(f"median per-face path / median one call: {ratio:.2f}x  (target >= 3x)")
    for label in times:
        got = answers[label]
        right = sum(owners.get(got.get(tile) or "") == person for tile, person in truth.items())
        print(f"{label}: {len(got)} faces, best match right for {report.ratio(right, len(truth))}")
    same = sum(answers[fast].get(tile) == answers[slow].get(tile) for tile in truth)
    print(f"same best match from both: {report.ratio(same, len(truth))}")
    print(f"requests: 1 vs {1 + len(answers[slow])} (DetectFaces + one SearchFacesByImage per face)")
    costs = stage_costs(image)
    for name, value in costs.items():
        print(f"  in-process {name}: {value:.1f} ms")
    detect_all, embed_all, detect_crop, embed_one = costs.values()
    faces = len(answers[slow])
    bound = (detect_all + faces * (detect_crop + embed_one)) / (detect_all + embed_all)
    print(f"pipeline work alone, per-face path / one call: {bound:.2f}x (the rest of the measured ratio is "
          "requests, image transfer and the searches' item reads)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
