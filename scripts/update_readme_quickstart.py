#!/usr/bin/env python3
"""Writes the quickstart's printed table into README.md (the block after "It prints").

Usage: scripts/update_readme_quickstart.py [PATH/TO/privacy-lab]
Runs `privacy-lab quickstart` in an empty temporary folder (the built-in spec, a fresh store) and
replaces the README's block that starts with "target:" by its output, minus the run-id line.
The test `ReadmeTests` fails when the README and the quickstart disagree.
"""
import pathlib
import subprocess
import sys
import tempfile

root = pathlib.Path(__file__).resolve().parent.parent
binary = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else root / ".build/release/privacy-lab").resolve()
with tempfile.TemporaryDirectory() as folder:
    out = subprocess.run([str(binary), "quickstart"], cwd=folder, check=True, capture_output=True, text=True).stdout
lines = [line for line in out.splitlines() if not line.startswith("run ")]
table = "\n".join(lines).strip("\n")
readme = (root / "README.md").read_text()
start = readme.index("```\ntarget: ") + 4
end = readme.index("\n```", start)
(root / "README.md").write_text(readme[:start] + table + readme[end:])
print(table)
