"""AWS's own stored-video recipe against `make serve`: S3, IAM, SNS and SQS at the embedded backend the banner
names, Rekognition at the endpoint.

The calls are those of AWS's Python example (aws-doc-sdk-examples, python/example_code/rekognition/
rekognition_video_detection.py, its face-detection part): a topic and a queue subscribed to it with a queue
policy, a role Rekognition may assume, start_face_detection with that NotificationChannel, the queue polled
with WaitTimeSeconds=5 until the job's message arrives, then get_face_detection. The job runs in the server's
own threads and publishes to the backend's SNS, which delivers to the queue, as on AWS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest

from tests.conftest import FIXTURES
from tests.fixtures.video.synth import Appearance, make_video
from tests.functional.serve_process import KEY_ID, SECRET, Served, serve

NAME = "doc-example-video-rekognition"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve("--threads", "4") as running:
        yield running


def backend_resource(served: Served, service: str):  # type: ignore[no-untyped-def]
    return boto3.resource(service, endpoint_url=served.backend, region_name="us-east-1",
                          aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)


def test_aws_video_example_runs_unchanged_against_make_serve(served, tmp_path):
    path = make_video(tmp_path / "people.mp4", [Appearance(FIXTURES / "london_021_smiling.jpg", 0.0, 3.0, x=0.5)],
                      3.0)
    bucket = backend_resource(served, "s3").create_bucket(Bucket="doc-example-bucket-rekognition")
    video_object = bucket.Object("people.mp4")
    video_object.upload_file(str(path))
    video = {"S3Object": {"Bucket": video_object.bucket_name, "Name": video_object.key}}

    # create_notification_channel
    topic = backend_resource(served, "sns").create_topic(Name=NAME)
    queue = backend_resource(served, "sqs").create_queue(QueueName=NAME,
                                                         Attributes={"ReceiveMessageWaitTimeSeconds": "5"})
    queue_arn = queue.attributes["QueueArn"]
    queue.set_attributes(Attributes={"Policy": json.dumps({
        "Version": "2008-10-17",
        "Statement": [{"Sid": "test-sid", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SQS:SendMessage",
                       "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic.arn}}}]})})
    topic.subscribe(Protocol="sqs", Endpoint=queue_arn)
    iam = backend_resource(served, "iam")
    role = iam.create_role(RoleName=NAME, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "rekognition.amazonaws.com"},
                       "Action": "sts:AssumeRole"}]}))
    policy = iam.create_policy(PolicyName=NAME, PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "SNS:Publish", "Resource": topic.arn}]}))
    role.attach_policy(PolicyArn=policy.arn)

    # _start_rekognition_job, poll_notification, _get_rekognition_job_results
    rekognition = served.client()
    job_id = rekognition.start_face_detection(Video=video, NotificationChannel={"RoleArn": role.arn,
                                                                               "SNSTopicArn": topic.arn})["JobId"]
    status, deadline = None, time.monotonic() + 180
    while status is None and time.monotonic() < deadline:
        messages = queue.receive_messages(MaxNumberOfMessages=1, WaitTimeSeconds=5)
        if messages:
            body = json.loads(messages[0].body)
            message = json.loads(body["Message"])
            assert message["JobId"] == job_id
            status = message["Status"]
            messages[0].delete()
    assert status == "SUCCEEDED"
    response = rekognition.get_face_detection(JobId=job_id)
    faces = [(face["Face"], face["Timestamp"]) for face in response["Faces"]]
    assert len(faces) >= 14 and all(face.get("BoundingBox") and face.get("Confidence") for face, _ in faces)

    # delete_notification_channel
    for attached in role.attached_policies.all():
        role.detach_policy(PolicyArn=attached.arn)
        attached.delete()
    role.delete()
    queue.delete()
    topic.delete()


def test_a_job_running_when_the_server_dies_ends_failed_when_it_comes_back(tmp_path):
    """The server's video threads die with it (a kill -9 here; Ctrl-C does not wait for them either): at the
    next start on the same data, the jobs it left running are ended FAILED, not left IN_PROGRESS for an hour."""
    path = make_video(tmp_path / "long.mp4", [Appearance(FIXTURES / "london_021_smiling.jpg", 0.0, 60.0, x=0.5)],
                      60.0, size=(320, 240))
    data = tmp_path / "data"
    with serve(data_dir=data) as first:
        s3 = boto3.client("s3", endpoint_url=first.backend, region_name="us-east-1", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET)
        s3.create_bucket(Bucket="videos")
        s3.upload_file(str(path), "videos", "long.mp4")
        job_id = first.client().start_face_detection(
            Video={"S3Object": {"Bucket": "videos", "Name": "long.mp4"}})["JobId"]
        first.kill_everything()
    with serve(data_dir=data) as second:
        assert "ended 1 video job(s) left running" in second.banner
        result = second.client().get_face_detection(JobId=job_id)
        assert result["JobStatus"] == "FAILED"
        assert result["StatusMessage"] == "The local server stopped while the job was running."
