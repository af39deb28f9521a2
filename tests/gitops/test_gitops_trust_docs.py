"""What the documents tell a team about trusting a plan is what the product does.

The troubleshooting page quotes, word for word, the refusals of a saved plan that does
not hold; the user guide shows a typo'd entry that must never pass as "No changes"; apply's
own hint tells CD what to apply.
These tests read those statements from the documents themselves and hold each to the
product's real output, so a document that drifts from the code fails here, not in a
team's CD.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_runs import error_lines
from demo_spec import demo_spec
from gitops_helpers import isolated
from sandbox_env import cli
from test_gitops_trust import REVIEWED, TAMPERINGS, apply_saved, recorded, save, server

from reconciler.sandbox.testing import SandboxServer

__all__ = ["isolated", "recorded", "server"]  # fixtures, imported for pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = DOCS / "user-guide.md"
TROUBLESHOOTING = DOCS / "troubleshooting.md"


def section(path: Path, heading: str) -> str:
    """The text of the section of ``path`` under ``heading``, up to the next heading of
    the same or a higher level."""
    text = path.read_text(encoding="utf-8")
    start = re.search(rf"^(#+) {re.escape(heading)}\n", text, re.M)
    assert start, f"{path.name} has no section '{heading}'"
    level = len(start.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, start.end())
    return text[start.end() : end.start() if end else len(text)]


def quoted_refusals() -> list[str]:
    """The bold quotes of the troubleshooting page's saved-plan section: each is an error
    the page says apply gives."""
    body = section(TROUBLESHOOTING, "A saved plan refused before any request")
    return [" ".join(q.split()) for q in re.findall(r'\*\*"(.+?)"\*\*', body, re.S)]


def as_pattern(quote: str) -> re.Pattern[str]:
    """A documented message as a pattern: the page writes ``plan.json``,
    ``stacks/prod.yaml`` and ``FILE`` for any path, ``'X'``/``'Y'`` for any endpoint,
    ``(...)`` for the difference named and ``...`` for any words."""
    pattern = re.escape(quote)
    for placeholder, meaning in (
        (re.escape("(...)"), r"\(.+\)"),
        (re.escape("..."), r".*"),
        (re.escape("plan.json"), r"\S+"),
        (re.escape("stacks/prod.yaml"), r"\S+"),
        ("FILE", r"\S+"),
        ("'X'", r"'[^']+'"),
        ("'Y'", r"'[^']+'"),
    ):
        pattern = pattern.replace(placeholder, meaning)
    return re.compile(pattern)


def test_the_page_quotes_the_refusals_it_explains() -> None:
    """The control of the test below: the quotes are found, and their placeholders read
    as patterns (a quote the parser missed would hold nothing)."""
    quotes = quoted_refusals()
    assert len(quotes) == 7, quotes
    endpoint = as_pattern(quotes[4])
    assert endpoint.match("p.json was made for endpoint 'ovh-eu', and s.yaml endpoint names 'a'")
    assert not endpoint.match("p.json was made for endpoint 'ovh-eu', and s.yaml is missing")


def test_every_refusal_of_a_saved_plan_is_the_one_the_troubleshooting_page_quotes(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every tampering of the trust tests, ``--endpoint`` naming another endpoint and
    ``--spec`` given with a spec: the one error apply gives is one the page quotes and
    ends as the page says ("nothing was sent"), and every quote is met by one of them."""
    said: list[str] = []
    for _, tamper, _ in TAMPERINGS:
        Path("spec.yaml").write_text(REVIEWED.format(url=server.url), encoding="utf-8")
        tamper(server, capsys)
        result, requests = apply_saved(server, capsys)
        assert result.code == 1 and requests == [], result.err
        (line,) = error_lines(result)
        said.append(line.removeprefix("error: "))
    Path("spec.yaml").write_text(REVIEWED.format(url=server.url), encoding="utf-8")
    save(capsys)
    other = cli(capsys, "apply", "plan.json", "--auto-approve", "--endpoint", "ovh-ca")
    said.append(error_lines(other)[0].removeprefix("error: "))
    not_a_plan = cli(capsys, "apply", "spec.yaml", "--auto-approve", "--spec", "spec.yaml")
    assert not_a_plan.code == 1
    said.append(error_lines(not_a_plan)[0].removeprefix("error: "))

    patterns = [as_pattern(quote) for quote in quoted_refusals()]
    for message in said:
        assert any(p.match(message) for p in patterns), f"undocumented refusal: {message}"
    for message in said[:-1]:  # the page: "each of these errors ends with 'nothing was sent'"
        assert re.search(r"nothing was sent( \(and \d+ more problems?\))?$", message), message
    for quote, pattern in zip(quoted_refusals(), patterns, strict=True):
        assert any(pattern.match(message) for message in said), f"never said: {quote}"


# --- a typo is never "No changes" ---------------------------------------------------------


def the_guides_typo() -> tuple[str, str, str]:
    """The typo'd entry the guide shows, its lifecycle, and the name it suggests."""
    found = re.search(
        r"an entry `([\w.-]+): \{lifecycle: (\w+)\}` \(a typo\).*?\"did you mean\s+'([\w.-]+)'\?\"",
        GUIDE.read_text(encoding="utf-8"),
        re.S,
    )
    assert found, "the user guide no longer shows the typo example"
    name, lifecycle, suggested = found.groups()
    return name, lifecycle, suggested


def test_the_guides_typo_is_refused_with_its_suggestion_not_no_changes(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the guide says: refused as unknown-service with "did you mean", counted in the
    summary line, shown outside any folded section of the comment, exit 3."""
    name, lifecycle, suggested = the_guides_typo()
    Path("spec.yaml").write_text(
        f"version: 1\nunmanaged: ignore\nservices:\n  {name}:\n    lifecycle: {lifecycle}\n",
        encoding="utf-8",
    )
    text = cli(capsys, "plan", "spec.yaml", "--detailed-exitcode")
    assert text.code == 3, text.out + text.err
    assert "No changes" not in text.out
    assert "unknown-service" in text.out and f"did you mean '{suggested}'?" in text.out
    summary = [line for line in text.out.splitlines() if "refused" in line.lower()]
    assert any(re.search(r"\b1 refused\b", line) for line in summary), text.out

    comment = cli(capsys, "plan", "spec.yaml", "--format", "markdown")
    assert "No changes" not in comment.out.split("\n", 1)[0]
    unfolded = re.sub(r"<details>.*?</details>", "", comment.out, flags=re.S)
    assert "unknown-service" in unfolded and suggested in unfolded, comment.out

    document = json.loads(cli(capsys, "plan", "spec.yaml", "--format", "json").out)
    assert [r["service"] for r in document["refused"]] == [name]
    assert document["summary"]["refused"] == 1


# --- apply's own hint ----------------------------------------------------------------------


def test_apply_without_a_terminal_points_cd_at_the_reviewed_plan_file_and_that_works(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Apply's hint tells CD to apply the reviewed ``reconciler plan --out`` file with
    --auto-approve: the hint is given, and doing what it says applies exactly the saved
    plan's change."""
    Path("spec.yaml").write_text(demo_spec(("example.net",), endpoint="sandbox"), encoding="utf-8")
    refused = cli(capsys, "apply", "spec.yaml")
    assert refused.code == 1
    hint = next(line for line in refused.err.splitlines() if line.startswith("hint:"))
    assert "in CD: apply the reviewed `reconciler plan --out` file with --auto-approve" in hint
    saved = cli(capsys, "plan", "spec.yaml", "--out", "plan.json")
    assert saved.code == 0, saved.err
    done = cli(capsys, "apply", "plan.json", "--auto-approve")
    assert done.code == 0, done.err
    assert "Apply complete: 1 done" in done.out
    again = cli(capsys, "plan", "spec.yaml", "--detailed-exitcode")
    assert again.code == 0, again.out
