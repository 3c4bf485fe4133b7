"""The playbook is validated, and its errors say where: YAML path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.playbook import PlaybookError, load_playbook, parse_playbook
from agent.settings import DEFAULT_PLAYBOOK
from tests.utils.timelines import decide_now, ev, lead

DEFAULT_TEXT = DEFAULT_PLAYBOOK.read_text()


def edited(old: str, new: str) -> str:
    assert DEFAULT_TEXT.count(old) == 1, f"the edit target {old!r} must occur once"
    return DEFAULT_TEXT.replace(old, new)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def problems(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, source="pb.yaml")
    return [p.render("pb.yaml") for p in caught.value.problems]


def test_the_default_playbook_is_valid() -> None:
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    assert playbook.scoring.hot_threshold == 70
    assert playbook.action_rules[-1].when.always


def test_unknown_key_names_path_and_line() -> None:
    text = edited("  blog_view: {points: 2}", "  blog_view: {points: 2, pionts: 3}")
    assert problems(text) == [
        f"pb.yaml:{line_of(text, 'pionts')}: signals.blog_view.pionts: unknown key "
        "(check the spelling; unknown keys are not ignored)"
    ]


def test_rule_naming_an_unknown_signal_names_path_and_line() -> None:
    text = edited(
        "signals: [pricing_page_view], count: 2, within_days: 7, in_last_days: 90",
        "signals: [pricing_view], count: 2, within_days: 7, in_last_days: 90",
    )
    [problem] = problems(text)
    assert problem.startswith(
        f"pb.yaml:{line_of(text, 'pricing_view]')}: "
        "action_rules[9].when.event.signals[0]: unknown signal 'pricing_view'"
    )


def test_an_unknown_engaging_signal_names_path_and_line() -> None:
    text = edited("roi_calculator_used, dsr_view, demo_request", "roi_calc, dsr_view, demo_request")
    [problem] = problems(text)
    assert problem.startswith(
        f"pb.yaml:{line_of(text, 'roi_calc,')}: "
        "accounts.engaged_signals[5]: unknown signal 'roi_calc'"
    )


def test_an_unprintable_character_is_a_playbook_error_not_a_crash() -> None:
    """YAML refuses C1 control characters (a fuzzed request sent U+008D): PyYAML's reader
    raises as the loader is made, before it parses; that is the playbook's error too."""
    with pytest.raises(PlaybookError) as caught:
        parse_playbook("\x8d", source="pb.yaml")
    assert "special characters are not allowed" in str(caught.value)


def test_bad_value_names_path_and_line() -> None:
    text = edited("hot_threshold: 70", "hot_threshold: seventy")
    [problem] = problems(text)
    assert problem.startswith(f"pb.yaml:{line_of(text, 'seventy')}: scoring.hot_threshold: ")


def test_unknown_action_and_bad_regex_are_both_reported() -> None:
    text = edited("action: re_engage", "action: re_engage_now")
    text = text.replace('matches: "^/pricing"', 'matches: "^/pricing("')
    found = problems(text)
    assert len(found) == 2
    assert any("action_rules[14].action" in p for p in found)
    assert any("event_mappings[0].where[0]" in p and "regular expression" in p for p in found)


def test_duplicate_keys_and_duplicate_rule_ids_are_errors() -> None:
    text = edited(
        "  email_open: {points: 1}", "  email_open: {points: 1}\n  email_open: {points: 9}"
    )
    assert "duplicate key" in problems(text)[0]
    text = edited("- id: wait.min_gap", "- id: wait.weekly_cap")
    assert "duplicate rule id 'wait.weekly_cap'" in problems(text)[0]


def test_the_last_action_rule_must_apply_to_everyone() -> None:
    text = edited("    when: {always: true}", "    when: {hot: true}")
    assert "the last action rule must be" in problems(text)[0]


def test_invalid_yaml_gives_its_line() -> None:
    assert problems("version: x\nsignals: [unclosed\n")[0].startswith("pb.yaml:3: ")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot read playbook"):
        load_playbook(tmp_path / "nope.yaml")


def test_changing_a_number_in_a_copy_changes_decisions_without_code() -> None:
    events = [ev("webinar_attended", 1), ev("whitepaper_download", 5)]
    fit = lead(industry="software", employees=300, title="VP Operations")
    default = decide_now(load_playbook(DEFAULT_PLAYBOOK), events, fit)
    lowered = decide_now(
        parse_playbook(edited("hot_threshold: 70", "hot_threshold: 45")), events, fit
    )
    assert default.action == "send_email" and not default.score.hot
    assert lowered.action == "handoff_to_sales" and lowered.score.hot
    assert lowered.reasons[0].rule == "handoff.hot"


def test_changing_a_half_life_changes_scores() -> None:
    events = [ev("whitepaper_download", 14)]
    slow = parse_playbook(edited("half_life_days: 14 ", "half_life_days: 28 "))
    assert decide_now(slow, events).score.behaviour == pytest.approx(10 * 0.5**0.5, abs=0.01)


def test_a_valid_playbook_is_read_by_libyaml_not_the_pure_python_scanner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PyYAML's own scanner took ~50 ms of every `nurture next` for the default playbook
    import yaml.scanner

    def refuse(*_args: object) -> bool:
        raise AssertionError("the pure-Python YAML scanner was used")

    monkeypatch.setattr(yaml.scanner.Scanner, "check_token", refuse)
    playbook = parse_playbook(DEFAULT_TEXT)
    assert playbook == load_playbook(DEFAULT_PLAYBOOK)
    assert playbook.scoring.hot_threshold == 70


def test_libyaml_and_pure_python_read_the_same_rules() -> None:
    import yaml

    from agent.playbook import Playbook

    assert parse_playbook(DEFAULT_TEXT) == Playbook.model_validate(yaml.safe_load(DEFAULT_TEXT))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: x\nsignals: [unclosed\n",
            "pb.yaml:3: (top level): not valid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "a: b\n\tc: d\n",
            "pb.yaml:2: (top level): not valid YAML: "
            "found character '\\t' that cannot start any token",
        ),
        (
            "a: !!python/object:os.system x\n",
            "pb.yaml:1: (top level): not valid YAML: could not determine a constructor "
            "for the tag 'tag:yaml.org,2002:python/object:os.system'",
        ),
        ("x: &a [*b]\n", "pb.yaml:1: (top level): not valid YAML: found undefined alias 'b'"),
    ],
)
def test_yaml_errors_read_as_they_always_did(text: str, message: str) -> None:
    # libyaml words some errors differently; the messages people learned stay PyYAML's
    assert problems(text) == [message]
