"""A stand-in for the GitHub CLI (``gh``) in the CI recipes' tests: the few commands the
recipes run, answered from a JSON state file (``FAKE_GITHUB_STATE``) the test prepares
and reads back. ``--jq`` is evaluated with jq itself and printed as gh prints it
(strings raw, ``null`` as an empty line, other values as compact JSON).

State: ``comments`` (of the pull request), ``issues``, ``pulls`` (by number: ``number``,
``merged_at``, ``merge_commit_sha``, ``head`` ``{ref, sha}``), ``runs`` (oldest first:
``id``, ``path``, ``event``, ``head_branch``, ``head_sha``, ``status``, ``conclusion``),
``artifacts`` (``{run id: {name: directory}}``) and ``calls`` (every argv, in order).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jq

MARKER = "<!-- reconciler-plan -->"


class NotFound(Exception):
    pass


def option(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return json.dumps(value, separators=(",", ":"))


def output(data: Any, expression: str | None) -> str:
    if expression is None:
        return json.dumps(data) + "\n"
    return "".join(shown(value) + "\n" for value in jq.compile(expression).input_value(data).all())


def body_of(args: list[str]) -> str:
    field = option(args, "-F") or ""
    assert field.startswith("body=@"), field
    return Path(field.removeprefix("body=@")).read_text(encoding="utf-8")


def api(state: dict[str, Any], args: list[str]) -> Any:
    method = option(args, "--method", "GET")
    path = next(a for a in args[1:] if a.startswith("repos/"))
    parts = urlsplit(path)
    segments = parts.path.split("/")[3:]  # after repos/OWNER/NAME
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    if method == "GET":  # -f/--raw-field of a GET are its query parameters, URL-encoded
        fields = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--raw-field")]
        query.update(field.split("=", 1) for field in fields)
    if segments[:1] == ["issues"] and segments[2:] == ["comments"]:
        if method == "POST":
            comment = {"id": 1000 + len(state["comments"]), "body": body_of(args)}
            state["comments"].append(comment)
            return comment
        return state["comments"]
    if segments[:2] == ["issues", "comments"] and method == "PATCH":
        for comment in state["comments"]:
            if comment["id"] == int(segments[2]):
                comment["body"] = body_of(args)
                return comment
        raise NotFound
    if segments[:1] == ["commits"] and segments[2:] == ["pulls"]:
        return [pull for pull in state["pulls"].values() if pull["merge_commit_sha"] == segments[1]]
    if segments[:1] == ["pulls"] and len(segments) == 2:
        if segments[1] not in state["pulls"]:
            raise NotFound
        return state["pulls"][segments[1]]
    if segments[:2] == ["actions", "workflows"] and segments[3:] == ["runs"]:
        runs = [
            run
            for run in reversed(state["runs"])
            if run["path"].endswith("/" + segments[2])
            and run["event"] == query.get("event", run["event"])
            and run["head_branch"] == query.get("branch", run["head_branch"])
        ]
        runs = runs[: int(query.get("per_page", "30"))]
        return {"total_count": len(runs), "workflow_runs": runs}
    sys.exit(f"fake gh: no such API route {method} {path}")


def run_download(state: dict[str, Any], args: list[str]) -> None:
    run_id, name, directory = args[2], option(args, "--name"), option(args, "--dir", ".")
    saved = state["artifacts"].get(run_id, {}).get(name)
    if saved is None:
        sys.exit("no valid artifacts found to download")
    assert directory is not None
    shutil.copytree(saved, directory, dirs_exist_ok=True)


def issues(state: dict[str, Any], args: list[str]) -> str:
    verb = args[1]
    if verb == "list":
        listed = [{"number": i["number"]} for i in state["issues"] if i["state"] == "open"]
        return output(listed, option(args, "--jq"))
    body_file = option(args, "--body-file")
    if verb == "create":
        assert body_file is not None
        state["issues"].append(
            {
                "number": 7 + len(state["issues"]),
                "state": "open",
                "body": Path(body_file).read_text(encoding="utf-8"),
            }
        )
        return ""
    for issue in state["issues"]:
        if issue["number"] == int(args[2]):
            if verb == "edit":
                assert body_file is not None
                issue["body"] = Path(body_file).read_text(encoding="utf-8")
            elif verb == "close":
                issue["state"] = "closed"
    return ""


def main(args: list[str]) -> None:
    state_path = Path(os.environ["FAKE_GITHUB_STATE"])
    state: dict[str, Any] = json.loads(state_path.read_text(encoding="utf-8"))
    state["calls"].append(args)
    out = ""
    try:
        if args[0] == "api":
            out = output(api(state, args), option(args, "--jq"))
        elif args[:2] == ["run", "download"]:
            run_download(state, args)
        elif args[0] == "issue":
            out = issues(state, args)
        elif args[:2] == ["label", "create"]:
            pass
        else:
            sys.exit(f"fake gh: unexpected {args}")
    except NotFound:
        state_path.write_text(json.dumps(state), encoding="utf-8")
        sys.exit("gh: Not Found (HTTP 404)")
    state_path.write_text(json.dumps(state), encoding="utf-8")
    sys.stdout.write(out)


if __name__ == "__main__":
    main(sys.argv[1:])
