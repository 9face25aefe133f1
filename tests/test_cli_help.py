"""The command line explains itself: every command has a description, an example that
parses, and help for every option with its default; a mistyped option is pointed to the
nearest one; bare ``dah-outcomes`` prints the help."""

from __future__ import annotations

import argparse
import shlex

import pytest

from dah_outcomes.cli.help_text import EXAMPLES, iter_commands
from dah_outcomes.cli.main import build_parser, main

COMMANDS = iter_commands(build_parser())


def test_every_command_is_covered() -> None:
    assert {name for name, _, _ in COMMANDS} <= set(EXAMPLES)
    assert len(COMMANDS) >= 18


@pytest.mark.parametrize(("name", "sub"), [(n, s) for n, s, _ in COMMANDS], ids=lambda x: str(x))
def test_command_has_description_example_and_option_help(
    name: str, sub: argparse.ArgumentParser
) -> None:
    assert sub.description, f"{name}: no description"
    assert sub.epilog
    assert sub.epilog.startswith("example:")
    undocumented = [
        a.option_strings or a.dest
        for a in sub._actions
        if not isinstance(a, argparse._HelpAction) and not (a.help and a.help.strip())
    ]
    assert not undocumented, f"{name}: options without help: {undocumented}"
    text = " ".join(sub.format_help().split())  # the formatter wraps lines
    for action in sub._actions:
        shown_default = action.default not in (None, False, argparse.SUPPRESS)
        if action.option_strings and shown_default and not isinstance(action, argparse._HelpAction):
            assert "default" in (action.help or "") or f"(default: {action.default})" in text, (
                name,
                action.option_strings,
            )


@pytest.mark.parametrize("line", [line for lines in EXAMPLES.values() for line in lines])
def test_every_example_parses(line: str) -> None:
    words = shlex.split(line)
    assert words[0] == "dah-outcomes"
    args = build_parser().parse_args(words[1:])
    assert args.command == words[1]


def test_a_mistyped_option_names_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["rates", "cohort/", "--conf-levle", "0.9"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--conf-levle -> --conf-level" in err


def test_bare_command_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: dah-outcomes" in out
    for name, _, _ in COMMANDS:
        if " " not in name:
            assert name in out


def test_command_help_shows_defaults_and_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["rates", "--help"])
    out = capsys.readouterr().out
    assert "(default: 0.95)" in out
    assert "example:\n  dah-outcomes rates cohort/" in out
    assert "the cohort folder" in out  # the positional argument is explained
