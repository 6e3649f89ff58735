"""The function's JSON log lines: readable non-ASCII text, and always writable as UTF-8."""

from __future__ import annotations

import json

from app import log_json


def test_non_ascii_text_stays_readable() -> None:
    assert '"message":"café"' in log_json({"message": "café"})


def test_a_lone_surrogate_from_a_request_is_escaped_not_lost() -> None:
    line = log_json({"error_message": "Value 'a\ud800b' at 'attributes'"})
    line.encode("utf-8")  # a raw surrogate would make the log stream drop the line
    assert json.loads(line)["error_message"] == "Value 'a\ud800b' at 'attributes'"
