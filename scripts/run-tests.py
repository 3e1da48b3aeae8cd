"""Runs the workspace's test executables, built beforehand, in lanes side by side.

`cargo test` runs its test binaries one after another. Most of ours spend much of their time
waiting on their own emulators (retries under injected faults, pollers, waiters), so two
lanes share the 2 cores better. The executables are those the build listed
(`cargo test --no-run --message-format=json-render-diagnostics`, whose standard output is
this script's input file); each runs as `cargo test` runs it: from its package's directory,
with CARGO and CARGO_MANIFEST_DIR set. Running them directly, not through `cargo test`, also
means no second cargo call that could see other build settings and rebuild.

Each integration test executable is a job; the unit tests of every library, binary and
example are one more. Jobs are taken from a queue, the slowest known first (SLOW_FIRST), so
the lanes end close together; an executable missing from SLOW_FIRST runs after them.

Usage: run-tests.py BUILD_JSON [--lanes N]
Each job's output goes to target/test-logs/<job>.log, and is printed if the job fails.
Exit status 1 if any job fails, if an integration test executable runs no test, or if the
build listed no integration test at all.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

# Integration test targets, slowest first as measured with 2 lanes. Only the order of the
# queue depends on it.
SLOW_FIRST = [
    "faults",
    "crash",
    "data_flow",
    "audit",
    "faults_flows",
    "engine",
    "gc",
    "glue_parity",
    "e2e",
    "local_serve",
    "security",
]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(ROOT, "target", "test-logs")
RESULT = re.compile(r"^test result: (\w+)\. (\d+) passed; (\d+) failed")


def executables(build_json):
    """(package directory's name, package directory, target name, target kind, executable) of
    every test executable the build made, in the build's order."""
    out = []
    with open(build_json) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
                continue
            if not msg["profile"]["test"]:
                continue
            target = msg["target"]
            directory = os.path.dirname(msg["manifest_path"])
            out.append((
                os.path.basename(directory),
                directory,
                target["name"],
                target["kind"][0],
                msg["executable"],
            ))
    return out


def jobs(built):
    """(job name, [(directory, executable)]): each integration test executable, then one job
    for every unit test executable."""
    tests = [b for b in built if b[3] == "test"]
    names = [t[2] for t in tests]
    shared = {n for n in names if names.count(n) > 1}
    rank = {n: i for i, n in enumerate(SLOW_FIRST)}
    tests.sort(key=lambda t: (rank.get(t[2], len(rank)), t[2], t[0]))
    out = []
    for package, directory, name, _, exe in tests:
        job = f"{package}-{name}" if name in shared else name
        out.append((job, [(directory, exe)], True))
    units = [(b[1], b[4]) for b in built if b[3] != "test"]
    out.append(("units", units, False))
    return out


print_lock = threading.Lock()


def run(job):
    name, executables, needs_tests = job
    log = os.path.join(LOGS, f"{name}.log")
    started = time.monotonic()
    code = 0
    with open(log, "w") as out:
        for directory, exe in executables:
            env = dict(os.environ, CARGO_MANIFEST_DIR=directory)
            env.setdefault("CARGO", "cargo")
            out.write(f"     Running {os.path.relpath(exe, ROOT)}\n")
            out.flush()
            status = subprocess.run(
                [exe], cwd=directory, env=env, stdout=out, stderr=subprocess.STDOUT
            ).returncode
            code = code or status
    seconds = time.monotonic() - started
    with open(log) as f:
        text = f.read()
    passed = sum(int(m.group(2)) for m in map(RESULT.match, text.splitlines()) if m)
    ok = code == 0 and (passed > 0 or not needs_tests)
    with print_lock:
        print(f"{'ok' if ok else 'FAILED':6} {name:24} {seconds:7.1f} s  {passed} passed", flush=True)
        if not ok:
            print(text, flush=True)
            if code == 0:
                print(f"{name}: no test ran", flush=True)
    return ok, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_json")
    parser.add_argument("--lanes", type=int, default=2)
    args = parser.parse_args()
    shutil.rmtree(LOGS, ignore_errors=True)
    os.makedirs(LOGS)
    todo = jobs(executables(args.build_json))
    if len(todo) < 2:
        sys.exit(f"{args.build_json} lists no integration test executable: was it built?")
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.lanes) as pool:
        results = list(pool.map(run, todo))
    failed = [name for (name, _, _), (ok, _) in zip(todo, results) if not ok]
    busy = sum(seconds for _, seconds in results)
    print(
        f"{len(todo)} jobs in {args.lanes} lanes: {time.monotonic() - started:.0f} s "
        f"({busy:.0f} s of jobs)"
    )
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
