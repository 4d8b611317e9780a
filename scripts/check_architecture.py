#!/usr/bin/env python3
"""Checks every `import` in Sources/ against the layer table of docs/ARCHITECTURE.md.

Exit 0 when every import is allowed (and every listed breach still exists), 1 otherwise, with one
line per problem. Run from anywhere: paths are relative to this file's repository.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The targets that may import each third-party module (docs/ARCHITECTURE.md, rule 3).
THIRD_PARTY = {"ArgumentParser": {"privacy-lab"}, "Yams": {"ExperimentSpecs", "MPCNetwork"}, "GRDB": {"ExperimentStore"},
               "Crypto": {"Codecs", "Federated", "Transport"},
               "NIOCore": {"Transport"}, "NIOPosix": {"Transport"}, "NIOSSL": {"Transport"}, "NIOTLS": {"Transport"}, "X509": {"Transport"},
               "Hummingbird": {"ResultsBrowser", "ModelServing"}, "HTTPTypes": {"ResultsBrowser", "ModelServing"},
               "Logging": {"ResultsBrowser", "ModelServing"}, "Prometheus": {"ModelServing"}}
SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Darwin", "Musl", "Dispatch", "Synchronization", "Testing", "XCTest"}
IMPORT = re.compile(r"^\s*(?:@_exported\s+|@testable\s+|@preconcurrency\s+)*(?:(?:public|internal|package|private|fileprivate)\s+)?import\s+(?:(?:struct|class|enum|func|protocol|typealias|var|let)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)


BLAS_THREADS = re.compile(r"\bthreadCount\s*=(?!=)|openblas_set_num_threads")


def section(text, name):
    match = re.search(rf"<!-- {name}:begin -->(.*?)<!-- {name}:end -->", text, re.S)
    if not match:
        sys.exit(f"docs/ARCHITECTURE.md: no '{name}' section")
    return match.group(1)


def main():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    layers, only = {}, {}
    for line in section(doc, "layers").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[1].isdigit():
            continue
        layers[cells[0]] = int(cells[1])
        if len(cells) > 2 and cells[2].startswith("only:"):
            only[cells[0]] = set(cells[2][len("only:"):].split())
    tolerated = set()
    for line in section(doc, "breaches").splitlines():
        match = re.match(r"\s*-\s*(\S+) imports (\S+)", line)
        if match:
            tolerated.add((match.group(1), match.group(2)))

    problems, seen = [], set()
    sources = ROOT / "Sources"
    for folder in sorted(p for p in sources.iterdir() if p.is_dir()):
        target = folder.name
        if target not in layers:
            problems.append(f"Sources/{target}: not in the layer table of docs/ARCHITECTURE.md")
            continue
        for file in sorted(folder.rglob("*.swift")):
            for match in IMPORT.finditer(file.read_text(errors="replace")):
                module = match.group(1)
                where = f"{file.relative_to(ROOT)}: {target} imports {module}"
                if module in SYSTEM or module == target:
                    continue
                if module in THIRD_PARTY:
                    if target not in THIRD_PARTY[module]:
                        problems.append(f"{where}: {module} belongs to {' and '.join(sorted(THIRD_PARTY[module]))} only")
                    continue
                if module not in layers:
                    problems.append(f"{where}: unknown module (add it to docs/ARCHITECTURE.md or the check's lists)")
                    continue
                if layers[module] == 0 and layers[target] != 1:
                    problems.append(f"{where}: C modules are reached only from layer 1")
                    continue
                allowed = module in only[target] if target in only else layers[module] < layers[target]
                if allowed:
                    continue
                if (target, module) in tolerated:
                    seen.add((target, module))
                    continue
                problems.append(f"{where}: layer {layers[target]} may not import layer {layers[module]}"
                                + (f" (only {', '.join(sorted(only[target]))})" if target in only else ""))
    # Only ParallelMap (in Tensors) and the runner's layer and above set BLAS's process-wide
    # thread count.
    for file in sorted(sources.rglob("*.swift")):
        target = file.relative_to(sources).parts[0]
        if target == "Tensors" or layers.get(target, 0) >= layers.get("ExperimentRunning", 99):
            continue
        for number, line in enumerate(file.read_text(errors="replace").splitlines(), 1):
            if BLAS_THREADS.search(line):
                problems.append(f"{file.relative_to(ROOT)}:{number}: sets BLAS's thread count; below the experiment layer "
                                "only ParallelMap (Tensors) does")
    # The umbrella re-exports every library module (the layers between 0 and its own).
    umbrella = "\n".join(f.read_text() for f in (sources / "PrivacyLab").rglob("*.swift"))
    exported = set(re.findall(r"@_exported\s+import\s+([A-Za-z_][A-Za-z0-9_]*)", umbrella))
    for target, layer in sorted(layers.items()):
        if 1 <= layer < layers.get("PrivacyLab", 0) and (sources / target).is_dir() and target not in exported:
            problems.append(f"Sources/PrivacyLab: the umbrella does not re-export {target}")
    # Rule 7: no unsafe build flags in the package's manifest, so that another package can depend
    # on PrivacyLab by version (SwiftPM refuses a versioned dependency whose products carry them).
    # The nested Fuzzing and Benchmarks packages are no one's dependency and are not read.
    for number, line in enumerate((ROOT / "Package.swift").read_text().splitlines(), 1):
        if "unsafeFlags" in line.split("//")[0]:
            problems.append(f"Package.swift:{number}: unsafe build flags; a package depending on PrivacyLab by version "
                            "could not build it")
    for target, module in sorted(tolerated - seen):
        problems.append(f"docs/ARCHITECTURE.md: the breach '{target} imports {module}' is gone: remove it from the list")
    for line in problems:
        print(line)
    print(f"architecture: {len(problems)} problem(s), {len(layers)} targets checked")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
