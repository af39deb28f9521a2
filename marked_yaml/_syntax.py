"""PyYAML's syntax errors, at PyYAML's position, in plain words and with a fix."""

from __future__ import annotations

import yaml

from marked_yaml._text import LineIndex, cut, split_lines
from marked_yaml._values import Code, Limits, Problem

TAB_FIX = "indent with spaces: YAML does not allow tabs in indentation"


def syntax_problems(error: yaml.MarkedYAMLError, text: str, limits: Limits) -> list[Problem]:
    """The problems of a syntax error. A tab in the indentation is by far the most common
    cause: every such line gets its own problem."""
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if mark is not None and mark.index >= len(text):
        # At the end of the stream libyaml counts one line more than the file has.
        line, column = LineIndex(text).position(len(text))
    problem = error.problem or "invalid YAML"
    if "maximum nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
        return [
            Problem(
                Code.DEPTH,
                line,
                column,
                "the document is nested more than 1000 levels deep",
                "nest less deeply",
            )
        ]
    at_tab = mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t"
    if at_tab or "tab" in problem:
        return tab_indented_lines(text, limits) or [
            Problem(
                Code.TAB, line, column, "a tab here breaks the YAML", "replace the tab with spaces"
            )
        ]
    context = ""
    if (
        error.context
        and error.context_mark is not None
        and error.context_mark is not mark
        and "next token" not in error.context  # says nothing a user can act on
    ):
        context = f" ({error.context} at line {error.context_mark.line + 1})"
    return [
        Problem(
            Code.SYNTAX,
            line,
            column,
            f"YAML syntax error: {cut(problem, 120)}{cut(context, 120)}",
            _fix(problem, text, mark.index if mark is not None else -1, column),
        )
    ]


def tab_indented_lines(text: str, limits: Limits) -> list[Problem]:
    """A problem for every line whose indentation holds a tab."""
    problems = []
    for number, line in enumerate(split_lines(text), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        where = line.find("\t", 0, indent)
        if where >= 0 and line.strip(" \t"):
            problems.append(
                Problem(Code.TAB, number, where + 1, "tab used for indentation", TAB_FIX)
            )
        if len(problems) > limits.max_problems:
            break
    return problems


def _fix(problem: str, text: str, index: int, column: int) -> str:
    char = text[index] if 0 <= index < len(text) else ""
    if "cannot start any token" in problem and char in "@`%":
        return f"quote the value: {char!r} cannot start a plain YAML value"
    if "mapping values are not allowed" in problem and column > 1024:
        return "an unquoted YAML key has at most 1024 characters: quote it, or shorten it"
    if "mapping values are not allowed" in problem:
        return "quote the value if it holds ': ', or check the indentation of this line"
    if "could not find expected ':'" in problem:
        return "a key needs ': ' after it; check this line and the one before"
    if "did not find expected key" in problem:
        return "check the indentation: the keys of one mapping start in the same column"
    if "did not find expected '-' indicator" in problem:
        return "check the indentation: the items of one list start in the same column"
    if "escape" in problem:
        return "fix the escape sequence, or use single quotes where a backslash is meant"
    if "end of stream" in problem or "found unexpected end" in problem:
        return "close the quote or bracket that is still open"
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return "separate flow items with ', ' and close the bracket"
    return "check the YAML syntax here: indentation, quotes and brackets"
