#!/usr/bin/env python3
"""Check that every relative link in the tree's Markdown resolves, and every docs/*.md a file names.

- Markdown (every `*.md` git tracks, or would track): each inline link `[text](target)` and each
  reference definition `[label]: target` whose target is not a URL must name an existing file or
  directory, relative to the Markdown file; a `#fragment` must be the GitHub anchor of a heading in
  the target Markdown file (or in the same file for `#fragment` alone). Links inside code blocks
  and code spans are not links.
- Any tracked text file (code comments, scripts, manifests): each `docs/<path>.md` it mentions
  must exist, relative to the repository root.

Usage: scripts/check-links.py [ROOT]  (default: the repository this script is in). Prints each
broken link as `file:line: target: why` and exits 1 when there is one; standard library only.
`scripts/check-links.py --self-test` checks, in a scratch repository, that the checker finds
each kind of broken link and passes the good ones.
"""

import os
import re
import subprocess
import sys
import tempfile
import unicodedata

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

INLINE = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^()\s<>]+(?:\([^()\s]*\)[^()\s<>]*)*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
DOCS_MENTION = re.compile(r"(?<![\w/.-])(?:\.\./)*(docs/[\w./-]*?\.md)\b")
URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def tracked_files():
    out = subprocess.run(
        ["git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    skip = ("node_modules/", "vendor/", "target/", ".venv/", ".tools/")
    return sorted(f for f in set(out.split("\0")) if f and not any(s in f for s in skip))


def slug(heading):
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "").lower()
    kept = []
    for ch in text:
        if ch in " -_" or ch.isalnum() or unicodedata.category(ch).startswith("M"):
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def markdown_lines(path, blank_code_spans=True):
    """(line number, text) of each line outside fenced code blocks, code spans blanked."""
    fence = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = FENCE.match(line)
            if m:
                marker = m.group(1)
                if fence is None:
                    fence = marker[0] * 3
                    continue
                if marker.startswith(fence):
                    fence = None
                    continue
            if fence is None:
                line = line.rstrip("\n")
                if blank_code_spans:
                    line = CODE_SPAN.sub(lambda s: " " * len(s.group(0)), line)
                yield number, line


_anchors = {}


def anchors(path):
    """The anchors of a Markdown file's headings, with GitHub's -1, -2 for repeated ones."""
    if path not in _anchors:
        seen = {}
        for _, line in markdown_lines(path, blank_code_spans=False):
            m = HEADING.match(line)
            if m:
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                seen.setdefault(base if n == 0 else f"{base}-{n}", 1)
        _anchors[path] = set(seen)
    return _anchors[path]


def check_target(source, target):
    """None when `target` (as written in `source`) resolves, else why not."""
    if URL.match(target) or target.startswith("//"):
        return None
    path_part, _, fragment = target.partition("#")
    if path_part:
        resolved = os.path.normpath(os.path.join(os.path.dirname(source), path_part))
        if not resolved.startswith(ROOT + os.sep) and resolved != ROOT:
            return "points outside the repository"
        if not os.path.exists(resolved):
            return "no such file"
    else:
        resolved = source
    if fragment and resolved.endswith(".md") and os.path.isfile(resolved):
        if fragment.lower() not in anchors(resolved):
            return f"no heading with anchor #{fragment} in {os.path.relpath(resolved, ROOT)}"
    return None


def broken_links():
    problems = []
    for rel in tracked_files():
        path = os.path.join(ROOT, rel)
        if not os.path.isfile(path) or os.path.realpath(path) == os.path.realpath(__file__):
            continue  # this file's self-test names missing files on purpose
        if rel.endswith(".md"):
            for number, line in markdown_lines(path):
                targets = [m.group(1) for m in INLINE.finditer(line)]
                ref = REFERENCE.match(line)
                if ref:
                    targets.append(ref.group(1))
                for target in targets:
                    why = check_target(path, target)
                    if why:
                        problems.append(f"{rel}:{number}: {target}: {why}")
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.split("\n"), 1):
            for m in DOCS_MENTION.finditer(line):
                if not os.path.isfile(os.path.join(ROOT, m.group(1))):
                    problems.append(f"{rel}:{number}: {m.group(1)}: no such file")
    return problems


SELF_TEST_FILES = {
    "README.md": (
        "# Top `code` heading\n\n## Same\n\n## Same\n\n"
        "[a](docs/a.md) [b](docs/a.md#section-one) [c](#top-code-heading) [d](#same-1) [e](docs/)\n"
        "[url](https://example.com/missing.md) `[span](missing-in-span.md)`\n\n"
        "```\n[fenced](missing-in-fence.md)\n```\n\n"
        "[broken file](docs/missing.md) [broken anchor](docs/a.md#no-such-section) [self](#nope)\n\n"
        "[ref]: docs/also-missing.md\n"
    ),
    "docs/a.md": "# A\n\n## Section one\n\n[up](../README.md#same)\n",
    "src/lib.rs": "// see docs/a.md, and docs/gone.md\n",
}
SELF_TEST_EXPECTED = [
    "README.md:14: docs/missing.md: no such file",
    "README.md:14: docs/a.md#no-such-section: no heading with anchor #no-such-section in docs/a.md",
    "README.md:14: #nope: no heading with anchor #nope in README.md",
    "README.md:16: docs/also-missing.md: no such file",
    "src/lib.rs:1: docs/gone.md: no such file",
]


def self_test():
    global ROOT
    with tempfile.TemporaryDirectory() as scratch:
        for rel, text in SELF_TEST_FILES.items():
            os.makedirs(os.path.join(scratch, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(scratch, rel), "w", encoding="utf-8") as f:
                f.write(text)
        subprocess.run(["git", "init", "-q", scratch], check=True)
        ROOT = os.path.realpath(scratch)
        found = broken_links()
    if found != SELF_TEST_EXPECTED:
        print("check-links self-test failed; expected:", *SELF_TEST_EXPECTED, "found:", *found, sep="\n  ")
        return 1
    print(f"check-links self-test: the {len(found)} broken links found, the good ones passed")
    return 0


def main(args):
    global ROOT
    if args == ["--self-test"]:
        return self_test()
    if args:
        ROOT = os.path.abspath(args[0])
    problems = broken_links()
    for p in problems:
        print(p)
    print(f"links: {len(problems)} broken" if problems else "links: every relative link resolves")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
