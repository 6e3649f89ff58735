"""The completion notices of stored-video jobs: one JSON message published to the caller's SNS topic.

An edge like the table and the bucket: it only sends what the operations built (Rekognition's message
shape is theirs). The deployment may publish only to the topics its role allows (template.yaml: those named
AmazonRekognition* by default, as AWS's AmazonRekognitionServiceRole policy does); a notice that cannot be
sent is logged, and the job's results stay available through Get*.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient

logger = logging.getLogger(__name__)


class Notices:
    def __init__(self, sns: SNSClient) -> None:
        self.sns = sns

    def publish(self, topic_arn: str, message: Mapping[str, Any]) -> bool:
        """Send `message` as JSON to the topic; False (and a log line) if SNS refused or was unreachable."""
        try:
            self.sns.publish(TopicArn=topic_arn, Message=json.dumps(message, separators=(",", ":")))
        except (ClientError, BotoCoreError) as error:
            logger.warning("could not publish the video job notice to %s: %s", topic_arn, error)
            return False
        return True
