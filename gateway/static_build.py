"""A tenant's web UI as one build: a version from its files' contents, stamped on every asset URL.

The page (no-cache) names its styles and scripts as ``style.css?v=<version>``, and scripts
import each other the same way, so those URLs can be cached for good: a deploy that changes any
file changes the version, and the next page load fetches the new files instead of mixing
yesterday's scripts with today's API. The version is re-checked against the files' sizes and
modification times, so an edited file is picked up without a restart.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

# ``src="..."`` / ``href="..."`` naming a relative file (no scheme, query or fragment).
HTML_REF = re.compile(r'(\b(?:src|href)=")([^":?#]+)(")')
# ``from "./x.js"``, ``import "./x.js"`` and ``import("./x.js")`` in a module.
JS_IMPORT = re.compile(r'(\b(?:from|import)\s*\(?\s*")(\.{1,2}/[^"?#]+)(")')
STAMPED = {".html": HTML_REF, ".js": JS_IMPORT, ".mjs": JS_IMPORT}

Signature = tuple[tuple[str, int, int], ...]


MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".mjs": "text/javascript; charset=utf-8"}  # fmt: skip


@dataclass(frozen=True)
class Text:
    """A page or script as served: stamped body, its ETag and media type."""

    body: bytes
    etag: str
    media_type: str


@dataclass(frozen=True)
class Build:
    """The files of one version: its id, the stat signature it was read at, and the stamped texts."""

    version: str
    signature: Signature
    texts: dict[str, Text]


def signature(directory: Path) -> Signature:
    """(relative path, mtime in ns, size) of every file under ``directory``, sorted."""
    found = []
    for path in directory.rglob("*"):
        if path.is_file():
            stat = path.stat()
            found.append((path.relative_to(directory).as_posix(), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


def _stamp(pattern: re.Pattern[str], text: str, here: str, files: set[str], version: str) -> str:
    """``text`` with every reference to one of ``files`` (relative to ``here``) given ``?v=version``."""

    def replace(match: re.Match[str]) -> str:
        if posixpath.normpath(posixpath.join(here, match[2])) not in files:
            return match[0]
        return f"{match[1]}{match[2]}?v={version}{match[3]}"

    return pattern.sub(replace, text)


def scan(directory: Path) -> Build:
    """Read every file under ``directory``: the build's version and its pages and scripts stamped."""
    seen = signature(directory)
    digest = hashlib.sha256()
    contents: dict[str, bytes] = {}
    for name, _, _ in seen:
        content = (directory / name).read_bytes()
        contents[name] = content
        digest.update(name.encode() + b"\0" + len(content).to_bytes(8, "big") + content)
    version = digest.hexdigest()[:12]
    files = set(contents)
    texts = {}
    for name, content in contents.items():
        suffix = posixpath.splitext(name)[1]
        if suffix in STAMPED:
            body = _stamp(STAMPED[suffix], content.decode(), posixpath.dirname(name), files, version).encode()
            texts[name] = Text(body, f'"{hashlib.sha256(body).hexdigest()[:16]}"', MEDIA_TYPES[suffix])
    return Build(version, seen, texts)
