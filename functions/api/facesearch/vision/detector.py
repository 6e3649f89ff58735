"""YuNet 2023mar face detector on onnxruntime, run over the scales a face can have.

The ONNX graph (made size-agnostic by layers/models/build.py) takes a 1x3xHxW float tensor in BGR order
(0-255), H and W multiples of 32, and returns, per stride 8/16/32, four anchor-free grids: cls and obj
(already sigmoid-ed), bbox (dx, dy, log w, log h in stride units from the cell's corner) and kps
(5 landmarks, dx/dy in stride units). The decoder below is the one OpenCV's FaceDetectorYN uses
(score = sqrt(cls * obj)), rebuilt in numpy.

Which passes an image gets (main, overview, fine, border, refine, upright) is pass_plan.py, how they merge
nms.py, what becomes of a face the frame cuts frame_edge.py, how a pass's canvas is drawn canvas.py; this
module runs the passes (pre-process, forward, post-process) and puts the faces together.

Landmark order: YuNet emits the subject's right eye, left eye, nose tip, right and left mouth corners,
i.e. for an upright face the eye and mouth corner on the *left of the image* come first. That is already
Rekognition's order eyeLeft, eyeRight, nose, mouthLeft, mouthRight (Rekognition's eyeLeft is the eye
with the smaller X), so the rows of `Detection.landmarks` are in LANDMARK_TYPES order unchanged.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from facesearch.vision import frame_edge, nms, pass_plan
from facesearch.vision.aligner import alignment_matrix, warp
from facesearch.vision.canvas import frame, render, resample, to_blob
from facesearch.vision.nms import Candidates
from facesearch.vision.pass_plan import Placement
from facesearch.vision.pose import estimate_pose

if TYPE_CHECKING:
    import onnxruntime as ort

__all__ = ["LANDMARK_TYPES", "Detection", "Detector", "decode", "nms", "render", "resample", "to_blob"]

LANDMARK_TYPES: tuple[str, ...] = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")

# Measured with bench/detection.py on ../shared/faces (fp32 / int8 YuNet): the strongest candidate in the
# 25 no-face photos scores 0.856 / 0.849 (a dog), the weakest labelled group face >= 40 px scores
# 0.893 / 0.888, real faces mostly 0.90-0.95. OpenCV's default 0.9 misses 2-3 of those 21 faces; 0.87
# sits in the gap for both variants.
DEFAULT_SCORE_THRESHOLD = 0.87
# Candidates from this score up get a closer look (a refine pass) before they are accepted or dropped:
# a 16 px face, the smallest the main pass is sized for, scores 0.88 in the median.
CANDIDATE_THRESHOLD = 0.5
DEFAULT_NMS_THRESHOLD = 0.3  # OpenCV FaceDetectorYN's default IoU for suppression
MAX_FACES = 100  # Rekognition returns at most 100 faces per image, largest first
MAX_REFINEMENTS = 48  # refine (and, apart, upright) passes per image, ~1-2 ms each
_PRE_NMS_TOP_K = 5000
_MATCH_IOU = 0.3  # a refined box must overlap its candidate this much to confirm it


@dataclass(frozen=True)
class Detection:
    """One face in original-image pixel coordinates (continuous: pixel (i, j) covers [i, i+1) x [j, j+1))."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float  # 0..1
    landmarks: np.ndarray  # (5, 2) x, y in LANDMARK_TYPES order

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


def as_box(values: np.ndarray) -> tuple[float, float, float, float]:
    """A box row (x1, y1, x2, y2) as the plain floats a Detection holds."""
    x1, y1, x2, y2 = (float(v) for v in values)
    return x1, y1, x2, y2


@functools.lru_cache(maxsize=64)
def _grid(width: int, height: int, stride: int) -> np.ndarray:
    """(cells, 2) column/row index of each cell of a stride's output grid, row-major like the model."""
    rows, cols = np.mgrid[0 : height // stride, 0 : width // stride]
    return np.stack([cols.ravel(), rows.ravel()], axis=1).astype(np.float32)


def decode(
    outputs: dict[str, np.ndarray],
    canvas: tuple[int, int],
    strides: tuple[int, ...],
    score_threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-stride grids of a (width, height) input -> boxes (n,4 x1y1x2y2), scores (n,), landmarks
    (n,5,2), in network pixels."""
    all_boxes, all_scores, all_kps = [], [], []
    for stride in strides:
        cls = outputs[f"cls_{stride}"].reshape(-1)
        obj = outputs[f"obj_{stride}"].reshape(-1)
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        hit = score >= score_threshold
        if not hit.any():
            continue
        cell = _grid(canvas[0], canvas[1], stride)[hit]
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[hit]
        kps = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[hit]
        centre = (cell + bbox[:, :2]) * stride
        wh = np.exp(bbox[:, 2:]) * stride
        all_boxes.append(np.concatenate([centre - wh / 2, centre + wh / 2], axis=1))
        all_scores.append(score[hit])
        all_kps.append((kps + cell[:, None, :]) * stride)
    if not all_boxes:
        return np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty((0, 5, 2), np.float32)
    return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_kps)


class Detector:
    """Finds faces and their 5 landmarks; `detect(rgb)` -> Detections, largest first."""

    def __init__(
        self,
        session: ort.InferenceSession,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        nms_threshold: float = DEFAULT_NMS_THRESHOLD,
        max_faces: int = MAX_FACES,
        candidate_threshold: float = CANDIDATE_THRESHOLD,
    ) -> None:
        self._session = session
        model_input = session.get_inputs()[0]
        self._input_name = model_input.name
        if any(isinstance(side, int) for side in model_input.shape[2:]):
            raise ValueError(
                f"the detector needs YuNet with a free input size, got {model_input.shape}: "
                "rebuild the models (`make models`)"
            )
        self._output_names = [o.name for o in session.get_outputs()]
        strides = sorted(
            {int(m.group(1)) for n in self._output_names if (m := re.fullmatch(r"cls_(\d+)", n))}
        )
        if not strides:
            raise ValueError(f"not a YuNet 2023mar graph: outputs {self._output_names}")
        self.strides = tuple(strides)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_faces = max_faces
        self.candidate_threshold = min(candidate_threshold, score_threshold)

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        return self.detect_image(Image.fromarray(rgb))

    def detect_image(self, image: Image.Image) -> list[Detection]:
        """`detect` for an RGB Pillow image (the pipeline shares one with the aligner)."""
        width, height = image.size
        main, *overview = pass_plan.plan_passes(width, height)
        main_image = resample(image, main.region, main.resized)
        seen = self._run_canvas(frame(main_image, main), main)
        passes = [seen]
        fine = pass_plan.fine_pass(width, height, main)
        if fine is not None and pass_plan.wants_fine_pass(seen.widths_in_pass, seen.scores):
            passes.append(self.run(image, fine))
        confident = seen.boxes[seen.scores >= self.score_threshold]
        for placement in overview:
            if pass_plan.overview_needed(placement, confident, width, height):
                # shrunk from the main pass's copy: 1.6 ms less than from a 1024 px original
                small = resample(main_image, (0, 0, *main_image.size), placement.resized)
                passes.append(self._run_canvas(frame(small, placement), placement))
        found = self._merge(passes, width, height)
        if frame_edge.wants_border_pass(found.boxes, found.scores, self.score_threshold, width, height):
            for placement in pass_plan.border_passes(width, height, main):
                edge = self.run(image, placement)
                passes.append(edge.take(np.flatnonzero(frame_edge.reaches_edge(edge.boxes, width, height))))
            found = self._merge(passes, width, height)
        widths = found.boxes[:, 2] - found.boxes[:, 0]
        plan = pass_plan.plan_refinement(
            found.widths_in_pass, widths, found.scores, self.score_threshold, MAX_REFINEMENTS
        )
        accepted = [found.take(plan.keep)]
        accepted += [self._refine(image, found.boxes[i]) for i in plan.verify]
        for i in plan.sharpen:
            closer = self._refine(image, found.boxes[i])
            accepted.append(closer if len(closer) else found.take(np.array([i])))
        faces = nms.merge(Candidates.concat(accepted), self.nms_threshold, self.score_threshold)
        faces = faces.take(np.flatnonzero(faces.scores >= self.score_threshold))
        faces, whole = self._complete(faces, width, height)
        return self._largest_first(self._upright(image, faces, whole))

    def _merge(self, passes: list[Candidates], width: int, height: int) -> Candidates:
        """One NMS over the passes' candidates that lie (mostly) in the picture, less mirror images."""
        found = Candidates.concat(passes)
        found = found.take(np.flatnonzero(frame_edge.in_picture(found.boxes, width, height)))
        found = nms.merge(found, self.nms_threshold, self.score_threshold)
        return found.take(np.flatnonzero(~frame_edge.mirror_images(found.boxes, width, height)))

    def _complete(self, faces: Candidates, width: int, height: int) -> tuple[Candidates, np.ndarray]:
        """Faces the frame cuts, completed beyond it (frame_edge.py), those with too little of their box in
        the picture dropped; then one NMS, since two views of one cut face agree only once completed. Also
        (n,) bool: all 5 landmarks of the face are in the picture."""
        boxes, landmarks, kept, whole = [], [], [], []
        for i in range(len(faces)):
            done = frame_edge.complete(faces.landmarks[i], as_box(faces.boxes[i]), width, height)
            if frame_edge.visible_fraction(done.box, width, height) < frame_edge.MIN_VISIBLE:
                continue
            boxes.append(done.box)
            landmarks.append(done.landmarks)
            kept.append(i)
            whole.append(bool(done.seen.all()))
        if not kept:
            return Candidates.empty(), np.zeros(0, bool)
        index = np.asarray(kept, np.int64)
        completed = Candidates(np.asarray(boxes, np.float64), faces.scores[index], np.asarray(landmarks),
                               faces.widths_in_pass[index])  # fmt: skip
        order = nms.nms(completed.boxes, completed.scores, self.nms_threshold)
        return completed.take(order), np.asarray(whole, bool)[order]

    def run(self, image: Image.Image, placement: Placement) -> Candidates:
        """One pass: candidates (score >= candidate threshold) in original-image px."""
        return self._run_canvas(render(image, placement), placement)

    def _run_canvas(self, canvas: np.ndarray, placement: Placement) -> Candidates:
        """A pass whose canvas is already rendered (the main pass's copy also feeds the overview)."""
        # Preprocess
        blob = to_blob(canvas)
        # Forward
        outputs = self._forward(blob)
        # Postprocess
        return self._postprocess(outputs, placement)

    def _forward(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        values = self._session.run(self._output_names, {self._input_name: blob})
        return dict(zip(self._output_names, values, strict=True))

    def _postprocess(self, outputs: dict[str, np.ndarray], placement: Placement) -> Candidates:
        boxes, scores, kps = decode(outputs, placement.canvas, self.strides, self.candidate_threshold)
        if len(scores) > _PRE_NMS_TOP_K:
            top = np.argsort(-scores)[:_PRE_NMS_TOP_K]
            boxes, scores, kps = boxes[top], scores[top], kps[top]
        keep = nms.nms(boxes, scores, self.nms_threshold)
        return pass_plan.in_original(placement, boxes[keep], scores[keep], kps[keep])

    def _refine(self, image: Image.Image, box: np.ndarray) -> Candidates:
        """Look again at one candidate where it is ~64 px wide: the closer look's box, landmarks and
        score replace the candidate's if it still finds a face there, else the candidate is dropped."""
        placement = pass_plan.refine_placement(as_box(box), image.width, image.height)
        closer = self.run(image, placement)
        match = nms.best_match(box, closer.boxes, _MATCH_IOU)
        if match is None or closer.scores[match] < self.score_threshold:
            return Candidates.empty()
        return closer.take(np.array([match]))

    def _upright(self, image: Image.Image, faces: Candidates, whole: np.ndarray) -> Candidates:
        """Landmarks of rolled faces wholly in the picture, measured again on the face turned upright
        (see pass_plan.py)."""
        landmarks = faces.landmarks.copy()
        areas = (faces.boxes[:, 2] - faces.boxes[:, 0]) * (faces.boxes[:, 3] - faces.boxes[:, 1])
        budget = MAX_REFINEMENTS  # a crowd of tilted heads: the largest faces first
        order = np.argsort(-areas, kind="stable")
        for i in order[whole[order]]:
            for _ in range(pass_plan.UPRIGHT_ROUNDS):
                if budget == 0 or abs(estimate_pose(landmarks[i]).roll) < pass_plan.UPRIGHT_MIN_ROLL:
                    break
                budget -= 1
                closer = self._upright_landmarks(image, landmarks[i])
                if closer is None:
                    break
                landmarks[i] = closer
        return Candidates(faces.boxes, faces.scores, landmarks, faces.widths_in_pass)

    def _upright_landmarks(self, image: Image.Image, points: np.ndarray) -> np.ndarray | None:
        """The face at `points` turned upright and detected again: its landmarks in image px, or None
        when the upright view shows no face at its centre."""
        forward, side = pass_plan.upright_transform(alignment_matrix(points))
        canvas = warp(image, forward, side)
        boxes, scores, kps = decode(
            self._forward(to_blob(canvas)), (side, side), self.strides, self.score_threshold
        )
        # the strongest detection centred on the face we turned (anything else is a neighbour)
        centred = np.linalg.norm((boxes[:, :2] + boxes[:, 2:]) / 2 - side / 2, axis=1) < side / 4
        if not centred.any():
            return None
        best = int(np.flatnonzero(centred)[np.argmax(scores[centred])])
        return pass_plan.apply(np.linalg.inv(forward), kps[best])

    def _largest_first(self, faces: Candidates) -> list[Detection]:
        areas = (faces.boxes[:, 2] - faces.boxes[:, 0]) * (faces.boxes[:, 3] - faces.boxes[:, 1])
        order = np.argsort(-areas, kind="stable")[: self.max_faces]
        return [
            Detection(
                box=as_box(faces.boxes[i]),
                score=float(faces.scores[i]),
                landmarks=faces.landmarks[i].astype(np.float64),
            )
            for i in order
        ]
