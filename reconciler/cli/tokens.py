"""Deletion tokens given to ``reconciler apply``: where they come from, read without
ever being shown.

A token confirms an irreversible deletion: it is a secret, and the command line is no
place for one (``ps`` shows it to every user of the machine, the shell keeps it in its
history, a CI log prints the command). Three ways keep it out:

- ``--token NAME=@FILE``: FILE holds the token (blank lines and surrounding blanks are
  ignored; anything else than one token is refused, in case FILE is the whole e-mail);
- ``--token-file FILE``: one ``NAME=TOKEN`` a line; blank lines and ``#`` comments are
  ignored (repeatable);
- ``RECONCILER_DELETION_TOKENS``: ``NAME=TOKEN`` pairs separated by blanks, commas or
  newlines — what a CI secret variable gives.

``--token NAME=TOKEN`` still works, and draws a warning saying the above. A NAME given
twice, by any two of these, is an error. Messages name services, files, line numbers
and the variable, never a token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import UsageError

TOKEN_ENV = "RECONCILER_DELETION_TOKENS"
MAX_TOKEN_FILE_BYTES = 64 * 1024
# What a token can be: printable, no blank, no '=' (the e-mail's link carries it as a
# query value). Lenient on purpose: OVH's format is not published.
_TOKEN = re.compile(r"[!-<>-~]{1,1024}")
_EXAMPLE = "e.g. --token old-shop.example.org=@token.txt, a file holding the token of the "
_EXAMPLE += "e-mail's confirmTerminate link"
WARNING = (
    "warning: --token NAME=TOKEN leaves the token in the command line (ps, shell history, "
    f"CI logs); prefer --token NAME=@FILE, --token-file FILE or {TOKEN_ENV}"
)


@dataclass(frozen=True, slots=True)
class GivenTokens:
    """The tokens given, by service (a secret: not in repr), and the names given in
    the command line itself (for the warning)."""

    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    on_command_line: tuple[str, ...] = ()


def gather_tokens(
    options: Sequence[str], files: Sequence[Path], environ: Mapping[str, str]
) -> GivenTokens:
    """Every token of ``--token``, ``--token-file`` and ``RECONCILER_DELETION_TOKENS``;
    ``UsageError`` (one line, no token in it) for anything malformed."""
    found: dict[str, str] = {}
    sources: dict[str, str] = {}
    literal: list[str] = []

    def add(name: str, token: str, source: str) -> None:
        if name in found:
            raise UsageError(
                f"the token of {name} is given twice ({sources[name]} and {source})",
                hint="give one token for each service",
            )
        found[name] = token
        sources[name] = source

    for value in options:
        name, sep, token = value.partition("=")
        name, token = name.strip(), token.strip()
        if not sep or not name or not token:
            raise UsageError(f"--token {name or '?'}=...: expected NAME=TOKEN", hint=_EXAMPLE)
        if token.startswith("@"):
            add(name, _read_token(Path(token[1:]), f"--token {name}=@{token[1:]}"), "--token")
        else:
            _check(token, f"--token {name}=...")
            add(name, token, "--token")
            literal.append(name)
    for path in files:
        for number, key, token in _pairs(_read(path, f"--token-file {path}").splitlines()):
            where = f"--token-file {path}, line {number}"
            add(_check_pair(key, token, where), token, where)
    raw = environ.get(TOKEN_ENV, "")
    for number, key, token in _pairs(re.split(r"[\s,]+", raw), comments=False):
        where = f"{TOKEN_ENV} (pair {number})"
        add(_check_pair(key, token, where), token, TOKEN_ENV)
    return GivenTokens(tokens=found, on_command_line=tuple(literal))


def _pairs(lines: Iterable[str], *, comments: bool = True) -> Iterable[tuple[int, str | None, str]]:
    """``(number, NAME, TOKEN)`` of each non-blank line (NAME None: no ``=``)."""
    number = 0
    for line in lines:
        text = line.strip()
        if not text or (comments and text.startswith("#")):
            continue
        number += 1
        name, sep, token = text.partition("=")
        yield number, (name.strip() if sep else None), token.strip()


def _check_pair(name: str | None, token: str, where: str) -> str:
    """The service's name of a ``NAME=TOKEN`` pair, checked."""
    if not name or not token:
        raise UsageError(f"{where}: expected NAME=TOKEN", hint=_EXAMPLE)
    _check(token, where)
    return name


def _check(token: str, where: str) -> None:
    if not _TOKEN.fullmatch(token):
        raise UsageError(
            f"{where}: that is not a token (one word of letters, digits and punctuation)",
            hint="copy the token= value of the e-mail's confirmTerminate link, nothing else",
        )


def _read(path: Path, where: str) -> str:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            f"{where}: cannot read it: {exc.strerror or type(exc).__name__}",
            hint="give the path of a readable file",
        ) from None
    if len(data) > MAX_TOKEN_FILE_BYTES:
        raise UsageError(f"{where}: larger than 64 kB: not a token file", hint=_EXAMPLE)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text", hint=_EXAMPLE) from None


def _read_token(path: Path, where: str) -> str:
    words = _read(path, where).split()
    if len(words) != 1:
        raise UsageError(
            f"{where}: the file holds {len(words)} words, and a token is one",
            hint="put the token alone in the file: the token= value of the e-mail's "
            "confirmTerminate link",
        )
    _check(words[0], where)
    return words[0]
