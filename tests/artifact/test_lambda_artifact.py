"""The deploy artifact, run the way Lambda runs it: the built function directory at /var/task, the layers
extracted into /opt in the template's order, the handler named by template.yaml started by awslambdaric under
the Runtime Interface Emulator, SnapStart's hooks run before the first request, and real Rekognition requests
arriving as Function URL events. Built and run by `make artifact-test` (mk/sam.mk).

The layers are host-platform twins of the arm64 / Python 3.12 ones (same requirements, same recipe, same
trim: layers/deps/Makefile with DEPS_PLATFORM / DEPS_PYTHON_VERSION), so a trim that drops a module, a botocore
service model or a model file the function needs fails here. What it cannot catch: a wheel that exists for
x86_64 / the host's Python but not for arm64 / 3.12 (`make sam-build` installs those), and anything of
Lambda's own arm64 Python build.
"""

from __future__ import annotations

import email
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.artifact import sandbox, stack
from tests.artifact.conftest import ARTIFACT, PYTHON, invoke, rekognition_client
from tests.conftest import ANNA, ANNA_SMILING, BEN, photo

if not ARTIFACT:
    pytest.skip("the artifact test runs only under `make artifact-test` (it builds the artifact first)",
                allow_module_level=True)

IMPORT_CHECK = Path(__file__).resolve().with_name("import_check.py")
PROBE = "artifact-probe "
MEASURED = {"AgeRange", "Gender", "Smile", "EyesOpen", "MouthOpen", "Emotions", "EyeDirection"}  # ALL's models


def probe_steps(artifact: sandbox.Artifact) -> list[dict[str, Any]]:
    """The bootstrap's `artifact-probe {json}` lines in the emulator's log, in order."""
    steps = []
    for line in artifact.log.read_text(errors="replace").splitlines():
        _, found, rest = line.partition(PROBE)
        if found:
            steps.append(json.loads(rest))
    return steps


def test_create_collection(rekognition: Any) -> None:
    # The first request: the emulator starts the runtime, which imports the handler and runs SnapStart's
    # before-snapshot and after-restore hooks before it takes this request (see test_snapstart_hooks...).
    answer = rekognition.create_collection(CollectionId="artifact")
    assert answer["StatusCode"] == 200
    assert answer["CollectionArn"].endswith(":collection/artifact")


def test_snapstart_hooks_ran_in_order_before_the_first_request(artifact: sandbox.Artifact) -> None:
    steps = probe_steps(artifact)
    assert [step["step"] for step in steps] == [
        "init", "before-snapshot", "before-snapshot-done", "snapshot", "after-restore", "after-restore-done"]
    by_step = {step["step"]: step for step in steps}
    assert by_step["init"]["initialization_type"] == "snap-start"
    assert by_step["before-snapshot"]["hooks"] == ["facesearch.snapstart.before_snapshot"]
    assert by_step["after-restore"]["hooks"] == ["facesearch.snapstart.after_restore"]


def test_layout_is_lambdas(artifact: sandbox.Artifact) -> None:
    init = probe_steps(artifact)[0]
    origins = init["origins"]
    assert init["cwd"] == "/var/task"
    assert origins["app"] == "/var/task/app.py"
    assert origins["facesearch"] == "/var/task/facesearch/__init__.py"
    for layer_module in ("numpy", "onnxruntime", "PIL", "boto3", "botocore", "aws_lambda_powertools",
                         "snapshot_restore_py"):
        assert str(origins[layer_module]).startswith("/opt/python/"), (layer_module, origins[layer_module])
    for runtime_module in ("awslambdaric", "simplejson"):
        assert str(origins[runtime_module]).startswith("/var/runtime/"), (runtime_module, origins[runtime_module])
    repo = str(Path(__file__).resolve().parents[2])
    assert not [p for p in init["sys_path"] if p.startswith(repo) or ("site-packages" in p and "/opt/" not in p)]


def test_index_faces(rekognition: Any) -> None:
    answer = rekognition.index_faces(CollectionId="artifact", Image={"Bytes": photo(ANNA)},
                                     ExternalImageId="anna")
    assert len(answer["FaceRecords"]) == 1
    assert answer["FaceModelVersion"]
    rekognition.index_faces(CollectionId="artifact", Image={"Bytes": photo(BEN)}, ExternalImageId="ben")


def test_search_faces_by_image(rekognition: Any) -> None:
    answer = rekognition.search_faces_by_image(CollectionId="artifact", Image={"Bytes": photo(ANNA_SMILING)},
                                               FaceMatchThreshold=80)
    matches = answer["FaceMatches"]
    assert [m["Face"]["ExternalImageId"] for m in matches] == ["anna"]
    assert matches[0]["Similarity"] > 90


def test_detect_faces_all_runs_every_attribute_model(rekognition: Any) -> None:
    faces = rekognition.detect_faces(Image={"Bytes": photo(ANNA_SMILING)}, Attributes=["ALL"])["FaceDetails"]
    assert len(faces) == 1
    face = faces[0]
    assert set(face) >= MEASURED
    assert len({mark["Type"] for mark in face["Landmarks"]}) == 30
    assert face["AgeRange"]["Low"] <= face["AgeRange"]["High"]
    assert face["Gender"]["Value"] in ("Male", "Female")
    assert len(face["Emotions"]) == 7
    assert face["Smile"]["Value"] is True


def test_an_error_answer(rekognition: Any) -> None:
    with pytest.raises(ClientError) as raised:
        rekognition.describe_collection(CollectionId="no-such-collection")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_wrong_secret_is_refused(emulator: sandbox.Emulator) -> None:
    client = rekognition_client(emulator, secret="not-the-secret")
    with pytest.raises(ClientError) as raised:
        client.list_collections()
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_the_http_api_front_event_is_answered(emulator: sandbox.Emulator) -> None:
    # ApiThrottleRate > 0 puts an HTTP API in front: its payload-2.0 event (base64 body, its host name in the
    # signature, forwarding headers) must verify and answer like the Function URL's.
    client = rekognition_client(emulator, http_api=True)
    assert "artifact" in client.list_collections()["CollectionIds"]
    with pytest.raises(ClientError) as raised:
        rekognition_client(emulator, secret="not-the-secret", http_api=True).list_collections()
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_list_collections_after_all(rekognition: Any) -> None:
    assert rekognition.list_collections()["CollectionIds"] == ["artifact"]


def test_the_emulator_reports_no_function_error(artifact: sandbox.Artifact, emulator: sandbox.Emulator) -> None:
    # An event that is not a Function URL request: the handler answers it (400), it does not crash the runtime.
    result = invoke(emulator, {"hello": "artifact"})
    assert result.get("statusCode", 0) >= 400, result
    bad = ("Traceback (most recent call last)", "Runtime.ExitError", "Runtime.ImportModuleError", '"level":"ERROR"')
    found = [line[:300] for line in artifact.log.read_text(errors="replace").splitlines()
             if any(marker in line for marker in bad)]
    assert not found, f"{len(found)} error lines in {artifact.log}, the first: {found[:2]}"


def import_check(artifact: sandbox.Artifact, spec: sandbox.FunctionSpec, environment: dict[str, str],
                 absent: set[str], video: Path | None = None) -> dict[str, Any]:
    handler_module = spec.handler.rpartition(".")[0]
    done = sandbox.run_in_sandbox(artifact, spec.layers, environment,
                                  [PYTHON, "-S", "-c", IMPORT_CHECK.read_text(), handler_module,
                                   ",".join(sorted(absent)), str(video or "")], function=spec.logical_id)
    assert done.returncode == 0, done.stderr[-4000:] or done.stdout[-4000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["outside"] == [], report["outside"]
    assert report["function_modules"] > 50
    assert {"s3", "dynamodb", "lambda", "secretsmanager"} <= set(report["services"]), report["services"]
    return report


def top_level_modules(layer: Path) -> set[str]:
    """The import names a layer's python/ directory provides."""
    return {entry.name.split(".")[0] for entry in (layer / "python").iterdir()
            if not entry.name.endswith((".dist-info", ".libs")) and entry.name != "__pycache__"}


def test_everything_imports_from_the_artifact_alone(artifact: sandbox.Artifact, spec: sandbox.FunctionSpec,
                                                     template: dict[str, Any], environment: dict[str, str]) -> None:
    # Modules of the shared package that need a layer this function lacks (the video worker's) are skipped;
    # everything else must import from this function's own layers.
    others = set(sandbox.layer_ids(template)) - set(spec.layers)
    absent = set().union(*(top_level_modules(artifact.layer(x)) for x in others)) if others else set()
    report = import_check(artifact, spec, environment, absent)
    assert all(name.startswith("facesearch.") for name in report["skipped"]), report["skipped"]


def test_the_video_worker_imports_and_decodes_from_its_layers(artifact: sandbox.Artifact, template: dict[str, Any],
                                                              refs: dict[str, str], backend: str) -> None:
    if "VideoWorkerFunction" not in template["Resources"]:
        pytest.skip("no video worker in template.yaml")
    from tests.conftest import FIXTURES
    from tests.fixtures.video.synth import Appearance, make_video

    # H.264 in MP4, as uploaded videos come: made here (the dev venv's PyAV), decoded in the sandbox by the
    # video layer's OpenCV and its LGPL FFmpeg.
    clip = make_video(artifact.root / "clip.mp4", [Appearance(FIXTURES / ANNA, 0.0, 1.2, 0.5)], seconds=1.2,
                      size=(320, 240), fps=10)
    video = sandbox.function_spec(template, "VideoWorkerFunction")
    env = stack.environment(video, template, refs, backend, PYTHON, function_name=f"{stack.STACK}-video")
    report = import_check(artifact, video, env, absent=set(), video=clip)
    assert report["skipped"] == []
    assert str(report["cv2"]).startswith("/opt/python/cv2/"), report["cv2"]
    assert report["frames"] == 12


def test_notice_lists_what_the_layers_ship(artifact: sandbox.Artifact) -> None:
    """NOTICE's tables name every distribution of the deps and video layers at its version, and every model
    file of the models layer: a dependency or model added without its terms fails here."""
    notice = (Path(__file__).resolve().parents[2] / "NOTICE").read_text()
    missing = []
    layers = [layer for layer in ("DepsLayer", "VideoLayer") if artifact.layer(layer).is_dir()]
    for dist_info in sorted(d for layer in layers for d in (artifact.layer(layer) / "python").glob("*.dist-info")):
        metadata = email.message_from_bytes((dist_info / "METADATA").read_bytes())
        if f"| {metadata['Name']} | {metadata['Version']} |" not in notice:
            missing.append(f"{metadata['Name']} {metadata['Version']}")
    for model in sorted((artifact.layer("ModelsLayer") / "models").glob("*.onnx")):
        if model.name not in notice:
            missing.append(model.name)
    assert not missing, f"NOTICE does not list: {', '.join(missing)}"


def test_a_video_job_runs_through_both_functions_as_lambda_runs_them(
        artifact: sandbox.Artifact, rekognition: Any, video_emulator: sandbox.Emulator, backend: str,
        async_lambda: Any) -> None:
    """StartFaceSearch in the API function hands the job to the worker function by an asynchronous invocation;
    the worker plans it, hands on each segment and the merge the same way, publishes the notice to SNS (which
    delivers to SQS), and GetFaceSearch pages the results: every hop the deployed code, under the emulators."""
    from tests.artifact.conftest import INPUT_BUCKET
    from tests.conftest import FIXTURES
    from tests.fixtures.video.synth import Appearance, make_video

    clip = make_video(artifact.root / "job.mp4", [Appearance(FIXTURES / ANNA_SMILING, 0.0, 3.0, 0.5)], seconds=3.0,
                      size=(320, 240))
    stack.aws_client("s3", backend).upload_file(str(clip), INPUT_BUCKET, "job.mp4")
    sns, sqs = stack.aws_client("sns", backend), stack.aws_client("sqs", backend)
    topic = sns.create_topic(Name="AmazonRekognitionArtifact")["TopicArn"]
    queue = sqs.create_queue(QueueName="artifact-notices")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    rekognition.create_collection(CollectionId="video-people")
    rekognition.index_faces(CollectionId="video-people", Image={"Bytes": photo(ANNA)}, ExternalImageId="anna")
    job_id = rekognition.start_face_search(
        Video={"S3Object": {"Bucket": INPUT_BUCKET, "Name": "job.mp4"}}, CollectionId="video-people",
        NotificationChannel={"SNSTopicArn": topic, "RoleArn": f"arn:aws:iam::{stack.ACCOUNT}:role/Notices"})["JobId"]
    assert rekognition.get_face_search(JobId=job_id)["JobStatus"] == "IN_PROGRESS"

    def worker(event: dict[str, Any]) -> dict[str, Any]:
        answer = invoke(video_emulator, event)
        assert "errorType" not in answer, f"{answer}; see {video_emulator.log}"
        return answer

    delivered = async_lambda.deliver({f"{stack.STACK}-video": worker})
    assert [event["facesearch-video"] for _, event in delivered] == ["plan", "segment", "merge"]
    result = rekognition.get_face_search(JobId=job_id)
    assert result["JobStatus"] == "SUCCEEDED" and result["VideoMetadata"]["DurationMillis"] == 3000
    matched = [p for p in result["Persons"] if p.get("FaceMatches")]
    assert len(matched) >= 14 and {p["FaceMatches"][0]["Face"]["ExternalImageId"] for p in matched} == {"anna"}
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    notice = json.loads(json.loads(message["Body"])["Message"])
    assert notice["JobId"] == job_id and notice["Status"] == "SUCCEEDED" and notice["API"] == "StartFaceSearch"
