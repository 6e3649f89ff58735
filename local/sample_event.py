"""Print a signed Function URL event for one operation, for `sam local invoke -e` or a Lambda test event.

    python -m local.sample_event ListCollections '{}' > events/list_collections.json

Signed now with FACESEARCH_ACCESS_KEY_ID / FACESEARCH_SECRET_ACCESS_KEY (else the `make serve` dev keys):
the function refuses it once it is more than 5 minutes old, as it would any SigV4 request.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.function_url_event import function_url_event
from local.serve import dev_keys


def signed_event(operation: str, body: str, host: str, region: str) -> dict[str, Any]:
    key_id, secret = dev_keys()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"RekognitionService.{operation}",
               "Host": host}
    request = AWSRequest("POST", f"https://{host}/", data=body.encode(), headers=headers)
    SigV4Auth(Credentials(key_id, secret), "rekognition", region).add_auth(request)
    return function_url_event("POST", "/", "", dict(request.headers.items()), body.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("operation", help="a Rekognition operation name, e.g. ListCollections")
    parser.add_argument("body", nargs="?", default="{}", help="the JSON request body")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args()
    json.loads(args.body)
    print(json.dumps(signed_event(args.operation, args.body, args.host, args.region), indent=2))


if __name__ == "__main__":
    main()
