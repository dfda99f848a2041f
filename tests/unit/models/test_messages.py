import orjson
import pytest

from models.anomaly import AlertKind, alert_id
from models.errors import InvalidMessage
from models.messages import decode_alert
from models.throttle import FailureThrottle

ALERT = {
    "alert_id": "2f1e4a7c-5b3d-4c2e-9a1f-0b6c8d7e5f43",
    "kind": "spike",
    "syndicate_id": "syn-1",
    "observed": "12",
    "expected": "10.00",
    "event_time": "2026-03-01T10:00:00+00:00",
    "details": {},
}


def test_a_well_formed_alert_decodes():
    assert decode_alert(orjson.dumps(ALERT))["syndicate_id"] == "syn-1"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        (b"nope", "not_json"),
        (b"[1]", "not_object"),
        (b'"\\ud800"', "not_json"),
        (orjson.dumps({**ALERT, "alert_id": "x"}), "bad_field"),
        (orjson.dumps({**ALERT, "syndicate_id": ["a"]}), "bad_field"),
        (orjson.dumps({**ALERT, "kind": "other"}), "bad_field"),
        (orjson.dumps({k: v for k, v in ALERT.items() if k != "kind"}), "missing_field"),
        (orjson.dumps({**ALERT, "details": []}), "bad_field"),
        (orjson.dumps({**ALERT, "observed": True}), "bad_field"),
        (orjson.dumps({**ALERT, "expected": None}), "bad_field"),
        (orjson.dumps({**ALERT, "details": {"x": "\u0000"}}), "bad_text"),
        (orjson.dumps({**ALERT, "syndicate_id": "a\u0000"}), "bad_text"),
        (b"{" + b'"a":' * 0 + b'"x": "' + b"y" * 70_000 + b'"}', "too_large"),
    ],
)
def test_alert_messages_our_code_could_not_process_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidMessage) as caught:
        decode_alert(raw)
    assert caught.value.reason == reason


def test_alert_ids_are_unambiguous_when_ids_hold_the_separator():
    assert alert_id(AlertKind.SPIKE, "a/b", "c") != alert_id(AlertKind.SPIKE, "a", "b/c")
    # Ids without a separator keep their first-scheme ids: stored alerts are found on replay.
    import uuid

    legacy = uuid.uuid5(uuid.UUID("b7d7c3a2-5e0f-4c1b-8f6e-2a9d4e3c1f70"), "spike/syn-1/t-1")
    assert alert_id(AlertKind.SPIKE, "syn-1", "t-1") == legacy


def test_failures_are_throttled_per_key_and_released_after_the_window():
    throttle = FailureThrottle(limit=3, window=60)
    for t in (0, 1, 2):
        assert throttle.retry_after("client:a", t) == 0
        throttle.failed("client:a", t)
    assert throttle.retry_after("client:a", 3) == 57
    assert throttle.retry_after("client:b", 3) == 0
    assert throttle.retry_after("client:a", 60.5) == 0  # the first failure left the window
