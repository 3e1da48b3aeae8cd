"""Executes a notebook headless, every cell in order, and reports what it found.

    "$(scripts/ensure-notebook)" scripts/run_notebook.py examples/analytics.ipynb \
        --out target/analytics.out.ipynb --figures target/figures.json

or, the same in one command, `scripts/notebook examples/analytics.ipynb --out ... --figures ...`.
Run it with the notebook venv's python (scripts/ensure-notebook prints it). The cells run in
that venv's IPython kernel, `ecomflow-notebook`, which scripts/ensure-notebook registers inside
the venv (<venv>/share/jupyter/kernels); a kernel of the same name elsewhere (~/.local/share/
jupyter) never takes its place. The kernel inherits this process's environment, so the
notebook's settings go in as variables: ECOMFLOW_OUTPUTS (the JSON of `ecomflow-infra outputs
--json`) or ECOMFLOW_TOOL (the command that prints it), and the usual AWS ones
(AWS_ENDPOINT_URL for the local emulator, AWS_REGION, credentials). Relative paths in
ECOMFLOW_OUTPUTS and ECOMFLOW_TOOL are taken from this process's directory, which is also the
kernel's working directory (--cwd changes it).

- Each cell has --timeout seconds (default 300); a cell that raises, times out or kills the
  kernel stops the run: the failing cell's source and its traceback go to stderr, the
  executed copy (up to that cell) is still written to --out, and the exit code is 1.
- Outputs are kept only in the --out copy: the notebook given is never rewritten.
- A line `FIGURES {json}` that a cell prints (the last one wins) is the notebook's figures:
  printed to stdout as that same line, and written to --figures as JSON. Exit code 2 when
  --figures is asked for and no cell printed one.
- Jupyter's and IPython's scratch files (connection files, IPython's profile and history)
  go to a temporary directory, matplotlib's font cache into the venv: nothing is written
  under the home directory.
"""

import argparse
import json
import os
import re
import shlex
import sys
import tempfile
import time

FIGURES_MARK = "FIGURES "
KERNEL = "ecomflow-notebook"


def parse_args(argv):
    p = argparse.ArgumentParser(description="Execute a notebook headless with nbclient.")
    p.add_argument("notebook", help="the .ipynb to run (left unchanged)")
    p.add_argument("--out", help="where to write the executed copy (.ipynb)")
    p.add_argument("--figures", help="where to write the figures JSON the notebook printed")
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    p.add_argument("--kernel", default=KERNEL, help=f"kernel name (default {KERNEL})")
    p.add_argument("--cwd", default=os.getcwd(), help="the kernel's working directory")
    return p.parse_args(argv)


def prepare_environment(scratch):
    """The kernel's environment (inherited from this process): the venv's kernels first,
    scratch files kept out of the home directory, relative paths made absolute."""
    data = os.path.join(sys.prefix, "share", "jupyter")
    path = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = data + (os.pathsep + path if path else "")
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", os.path.join(scratch, "runtime"))
    os.environ.setdefault("IPYTHONDIR", os.path.join(scratch, "ipython"))
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(sys.prefix, "var", "matplotlib"))
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    outputs = os.environ.get("ECOMFLOW_OUTPUTS")
    if outputs:
        os.environ["ECOMFLOW_OUTPUTS"] = os.path.abspath(outputs)
    tool = os.environ.get("ECOMFLOW_TOOL")
    if tool:
        words = shlex.split(tool)
        if os.sep in words[0]:
            words[0] = os.path.abspath(words[0])
        os.environ["ECOMFLOW_TOOL"] = shlex.join(words)


def cell_label(index, cell):
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index}" + (f" ({first.strip()[:60]})" if first else "")


def find_figures(nb):
    """The last `FIGURES {json}` line printed to stdout by a code cell, parsed; else None."""
    found = None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream" or output.get("name") != "stdout":
                continue
            for line in output.get("text", "").splitlines():
                if line.startswith(FIGURES_MARK):
                    found = json.loads(line[len(FIGURES_MARK):])
    return found


def failed_cell(nb):
    """(index, cell, error output) of the first code cell with an error output, if any."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                return index, cell, output
    return None


def strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    scratch = tempfile.TemporaryDirectory(prefix="run-notebook-")
    prepare_environment(scratch.name)
    nb = nbformat.read(args.notebook, as_version=4)
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    started = {}

    def on_cell_start(cell, cell_index):
        started[cell_index] = time.monotonic()

    def on_cell_executed(cell, cell_index, execute_reply):
        took = time.monotonic() - started.get(cell_index, time.monotonic())
        status = execute_reply.get("content", {}).get("status", "?")
        print(f"  {cell_label(cell_index, cell)}: {status} in {took:.1f} s", file=sys.stderr, flush=True)

    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name=args.kernel,
        allow_errors=False,
        resources={"metadata": {"path": args.cwd}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    print(f"running {args.notebook} ({code_cells} code cells, kernel {args.kernel}, "
          f"{args.timeout} s per cell)", file=sys.stderr, flush=True)
    began = time.monotonic()
    failure = None
    try:
        client.execute()
    except CellTimeoutError as e:
        failure = f"a cell ran past its timeout of {args.timeout} s:\n{e}"
    except DeadKernelError as e:
        failure = f"the kernel died: {e}"
    except CellExecutionError as e:
        failure = str(e)
    except Exception as e:  # the kernel could not start, say: no such kernel
        failure = f"{type(e).__name__}: {e}"
        if "No such kernel" in str(e):
            failure += "\n(run scripts/ensure-notebook and run this script with the python it prints)"
    elapsed = time.monotonic() - began
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        nbformat.write(nb, args.out)
    if failure:
        bad = failed_cell(nb)
        print(f"\n{args.notebook} FAILED after {elapsed:.1f} s", file=sys.stderr)
        if bad:
            index, cell, output = bad
            print(f"--- {cell_label(index, cell)}, source:\n{cell.source}", file=sys.stderr)
            print(f"--- traceback:\n" + strip_ansi("\n".join(output.get("traceback", []))), file=sys.stderr)
        else:
            print(strip_ansi(failure), file=sys.stderr)
        if args.out:
            print(f"(the executed copy up to the failure: {args.out})", file=sys.stderr)
        return 1
    print(f"{args.notebook}: {code_cells} code cells ran in {elapsed:.1f} s"
          + (f"; executed copy {args.out}" if args.out else ""), file=sys.stderr)
    figures = find_figures(nb)
    if figures is not None:
        print(FIGURES_MARK + json.dumps(figures, sort_keys=True), flush=True)
        if args.figures:
            os.makedirs(os.path.dirname(os.path.abspath(args.figures)), exist_ok=True)
            with open(args.figures, "w") as f:
                json.dump(figures, f, indent=2, sort_keys=True)
                f.write("\n")
    elif args.figures:
        print(f"no cell of {args.notebook} printed a `{FIGURES_MARK.strip()} {{json}}` line", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
