"""The conformance matcher applies tests/conformance/README.md's rules, and can fail."""

from __future__ import annotations

from conformance_harness import Bindings, match, match_history


def test_wildcards_and_dont_care_objects_match_anything() -> None:
    bindings = Bindings(None)
    assert match("*", {"x": 1}, bindings, "v") == []
    assert match({}, "anything", bindings, "v") == []


def test_bindings_must_stay_equal_once_bound() -> None:
    bindings = Bindings(None)
    assert match("${ID1}", "7", bindings, "a") == []
    assert match("${ID1}", "7", bindings, "b") == []
    assert match("${ID1}", "8", bindings, "c") == ["c: expected '7', got '8'"]


def test_regex_placeholders_must_match() -> None:
    bindings = Bindings(None)
    assert match("${/^[0-5]$/}", 4, bindings, "delay") == []
    assert match("${/^[0-5]$/}", 6, bindings, "delay") == ["delay: 6 does not match /^[0-5]$/"]


def test_variables_substitute_inside_strings() -> None:
    bindings = Bindings({"INPUT_1": "${GEN_STR:8}"})
    value = bindings.values["INPUT_1"]
    assert len(value) == 8
    assert match('"${INPUT_1}"', f'"{value}"', bindings, "payload") == []
    assert match('"${INPUT_1}"', '"other"', bindings, "payload") != []


def test_objects_match_as_subsets_and_report_missing_keys() -> None:
    bindings = Bindings(None)
    assert match({"a": 1}, {"a": 1, "b": 2}, bindings, "e") == []
    assert match({"a": 1, "c": 3}, {"a": 1}, bindings, "e") == ["e.c: missing"]


def test_history_is_matched_by_event_id() -> None:
    events = [
        {"EventId": 2, "EventType": "StepStarted", "Id": "1"},
        {"EventId": 3, "EventType": "StepSucceeded", "Id": "1"},
    ]
    expected = [
        {"EventId": 2, "EventType": "StepStarted", "Id": "${ID}"},
        {"EventId": 3, "EventType": "StepSucceeded", "Id": "${ID}"},
    ]
    assert match_history(expected, events, Bindings(None)) == []
    expected[1]["EventType"] = "StepFailed"
    assert match_history(expected, events, Bindings(None)) == [
        "event 3.EventType: expected 'StepFailed', got 'StepSucceeded'"
    ]
    assert match_history([{"EventId": 9}], events, Bindings(None)) == ["event 9: missing"]
