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
    .venv/bin/python -m bench.all_faces --rounds 1 --faces 4    # a quick look (a couple of minutes)
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.config import Config
from PIL import Image

from bench.common import cli, models, progress, server, sets, tables, timing
from facesearch.vision.aligner import align
from facesearch.vision.image_decoder import decode_image
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


@dataclass(frozen=True)
class Collage:
    image: bytes  # JPEG
    columns: int
    rows: int

    def cell(self, box: dict[str, float]) -> tuple[int, int]:
        """Which tile a BoundingBox is in: how the two methods' faces are paired."""
        return int((box["Left"] + box["Width"] / 2) * self.columns), int((box["Top"] + box["Height"] / 2) * self.rows)


def collage(photos: Sequence[Path], per_row: int = 4) -> Collage:
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
    return Collage(out.getvalue(), per_row, rows)


def crop(image: Image.Image, box: dict[str, float]) -> bytes:
    w, h = box["Width"] * image.width, box["Height"] * image.height
    left, top = box["Left"] * image.width - MARGIN * w, box["Top"] * image.height - MARGIN * h
    part = image.crop((max(0, round(left)), max(0, round(top)), min(image.width, round(left + w * (1 + 2 * MARGIN))),
                       min(image.height, round(top + h * (1 + 2 * MARGIN)))))
    out = io.BytesIO()
    part.save(out, format="JPEG", quality=92)
    return out.getvalue()


Answers = dict[tuple[int, int], str | None]  # collage tile -> the best match's FaceId
ONE_CALL, PER_FACE = "SearchAllFacesByImage (1 call)", "DetectFaces + crop + SearchFacesByImage per face"


def one_call(client: Any, picture: Collage) -> Answers:
    answer = client.search_all_faces_by_image(CollectionId=COLLECTION, Image={"Bytes": picture.image}, MaxFaces=5)
    return {picture.cell(face["BoundingBox"]): face["FaceMatches"][0]["Face"]["FaceId"] if face["FaceMatches"]
            else None for face in answer["SearchedFaces"]}


def per_face(rekognition: Any, picture: Collage) -> Answers:
    decoded = Image.open(io.BytesIO(picture.image)).convert("RGB")
    found: Answers = {}
    for detail in rekognition.detect_faces(Image={"Bytes": picture.image})["FaceDetails"]:
        try:
            matches = rekognition.search_faces_by_image(CollectionId=COLLECTION, MaxFaces=5,
                                                        Image={"Bytes": crop(decoded, detail["BoundingBox"])}
                                                        )["FaceMatches"]
        except rekognition.exceptions.InvalidParameterException:  # no face found in the crop
            matches = []
        found[picture.cell(detail["BoundingBox"])] = matches[0]["Face"]["FaceId"] if matches else None
    return found


def build_gallery(rekognition: Any, shared: Path) -> dict[str, str]:
    """Index every London smiling photo and the Canada strangers; FaceId -> the person's photo id."""
    rekognition.create_collection(CollectionId=COLLECTION)
    owners: dict[str, str] = {}
    for path in progress.bar(sets.london_photos(shared, "smiling_front") + sets.canada_photos(shared), "gallery"):
        record = rekognition.index_faces(CollectionId=COLLECTION, Image={"Bytes": path.read_bytes()},
                                         ExternalImageId=path.stem, MaxFaces=1)["FaceRecords"]
        if record:
            owners[record[0]["Face"]["FaceId"]] = path.stem.split("_")[0]
    return owners


def stage_costs(image: bytes, rounds: int = 5) -> dict[str, float]:
    """Median ms of the pipeline's stages on the collage and on one face's crop, in this process."""
    pipeline = models.pipeline()
    decoded = decode_image(image)
    detections = pipeline.detector.detect(decoded.pixels)
    source = Image.fromarray(decoded.pixels)
    crops = np.stack([align(source, d.landmarks) for d in detections])
    x1, y1, x2, y2 = detections[0].box
    one = crop(source, {"Left": x1 / decoded.width, "Top": y1 / decoded.height, "Width": (x2 - x1) / decoded.width,
                        "Height": (y2 - y1) / decoded.height})
    stages: dict[str, Callable[[], object]] = {
        "detect the collage": lambda: pipeline.detector.detect(decoded.pixels),
        f"embed its {len(crops)} faces (one batch)": lambda: pipeline.embedder.embed(crops),
        "decode + detect one face's crop": lambda: pipeline.detector.detect(decode_image(one).pixels),
        "embed one face": lambda: pipeline.embedder.embed(crops[:1]),
    }
    pipeline.analyze(decoded)  # warm
    return {name: 1000 * statistics.median(timing.timed(run)[1] for _ in range(rounds)) for name, run in stages.items()}


def both_ways(rekognition: Any, extensions: Any, image: Collage, rounds: int) -> tuple[dict[str, list[float]],
                                                                                        dict[str, Answers]]:
    """Client wall times and answers of the one call and the per-face path, alternating round by round."""
    ways: dict[str, tuple[Callable[[Any, Collage], Answers], Any]] = {
        ONE_CALL: (one_call, extensions), PER_FACE: (per_face, rekognition)}
    for run, client in ways.values():  # warm both paths
        run(client, image)
    times: dict[str, list[float]] = {label: [] for label in ways}
    answers: dict[str, Answers] = {}
    for round_, order in enumerate(timing.turns(list(ways), rounds)):
        for label in order:
            run, client = ways[label]
            answers[label], seconds = timing.timed(run, client, image)
            times[label].append(seconds)
        progress.log(f"round {round_ + 1}/{rounds}")
    return times, answers


def report(times: dict[str, list[float]], answers: dict[str, Answers], truth: dict[tuple[int, int], str],
           owners: dict[str, str], image: bytes, rounds: int) -> None:
    rows = [tables.latency_row(label, values) for label, values in times.items()]
    print(tables.boxed(f"Searching every face of a {len(truth)}-face collage in a {len(owners)}-face gallery "
                       f"({rounds} alternating rounds)", tables.LATENCY_HEADER, rows))
    ratio = statistics.median(times[PER_FACE]) / statistics.median(times[ONE_CALL])
    print(f"median per-face path / median one call: {ratio:.2f}x  (target >= 3x)")
    for label, got in answers.items():
        right = sum(owners.get(got.get(tile) or "") == person for tile, person in truth.items())
        print(f"{label}: {len(got)} faces, best match right for {timing.share(right, len(truth))}")
    same = sum(answers[ONE_CALL].get(tile) == answers[PER_FACE].get(tile) for tile in truth)
    print(f"same best match from both: {timing.share(same, len(truth))}")
    print(f"requests: 1 vs {1 + len(answers[PER_FACE])} (DetectFaces + one SearchFacesByImage per face)")
    costs = stage_costs(image)
    for name, value in costs.items():
        print(f"  in-process {name}: {value:.1f} ms")
    detect_all, embed_all, detect_crop, embed_one = costs.values()
    bound = (detect_all + len(answers[PER_FACE]) * (detect_crop + embed_one)) / (detect_all + embed_all)
    print(f"pipeline work alone, per-face path / one call: {bound:.2f}x (the rest of the measured ratio is "
          "requests, image transfer and the searches' item reads)")


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--faces", type=int, default=12, help="faces in the collage (4 a row)")
    args = parser.parse_args(argv)
    if (shared := sets.shared_or_skip("faces/london", "the every-face search bench")) is None:
        return 0
    endpoint = server.start_server(startup_timeout=120)
    try:
        rekognition, extensions = server.rekognition(endpoint), extension_client(endpoint)
        owners = build_gallery(rekognition, shared)
        photos = sets.london_photos(shared, "neutral_front")[: args.faces]
        image = collage(photos)
        times, answers = both_ways(rekognition, extensions, image, args.rounds)
    finally:
        endpoint.stop()
    truth = {(i % image.columns, i // image.columns): path.stem.split("_")[0] for i, path in enumerate(photos)}
    report(times, answers, truth, owners, image.image, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
