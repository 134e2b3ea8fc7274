#!/usr/bin/env python3
"""The main-job check (ctest label main-job): what a user's first commands run, on the dev build.

1. benchmarks/run_suite.sh, the main job's own runner, over every benchmark program of the build: one
   short repetition each on reduced inputs (PAREX_BENCH_SMALL=1); each program must exit 0 and write
   valid Google Benchmark JSON holding every benchmark it registers, without an error; then
   parex-bench-report's table and summary and plot_summary.py's two charts must exist.
2. The example programs' documented commands, taken from each module's README as written there: the
   ```sh blocks, the `$ ` lines of transcripts (a following "exit status N" line is the status
   expected) and the `build/<preset>/bin/parex-...` commands quoted in the text; run in a scratch
   folder, with build/<preset> read as this build and tests/data as the source tree's. One reduction:
   the waveform batch samples 200 parameter sets rather than 10,000.
3. Each module's --plot, with the real matplotlib: the PNG exists and is not empty.

Usage: main_job.py SOURCE_DIR BUILD_DIR SCRATCH_DIR [MPIEXEC]
"""
import json
import os
import re
import shutil
import subprocess
import sys

SOURCE, BUILD, SCRATCH = (os.path.abspath(a) for a in sys.argv[1:4])
MPIEXEC = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
BENCH = os.path.join(BUILD, "benchmarks")
BIN = os.path.join(BUILD, "bin")
failures = []


def fail(message):
    print("FAIL: " + message, flush=True)
    failures.append(message)


def run(command, expected=0, **kwargs):
    """Runs a shell command; reports it and its output when its exit status is not `expected`."""
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, **kwargs)
    if result.returncode != expected:
        fail(f"exit status {result.returncode} (expected {expected}): {command}\n{result.stdout[-2000:]}"
             f"{result.stderr[-4000:]}")
    return result


def check_file(path):
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        fail(f"{path} was not written, or is empty")


# --- 1. the benchmark suite -----------------------------------------------------------------------
def benchmark_suite():
    os.makedirs(SCRATCH, exist_ok=True)
    full = os.path.join(SCRATCH, "corpus.tar")
    subprocess.run([os.path.join(SOURCE, "cmake/make-compress-corpus.sh"), full], check=True)
    small = os.path.join(SCRATCH, "small-corpus.tar")
    with open(full, "rb") as src, open(small, "wb") as dst:
        dst.write(src.read(8 << 20))  # 8 MiB of the corpus: every codec row still has frames to make
    env = dict(os.environ, PAREX_BENCH_SMALL="1", PAREX_BENCH_REPETITIONS="1", PAREX_BENCH_MIN_TIME="0.001",
               PAREX_COMPRESS_CORPUS=small, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for stale in os.listdir(BENCH):
        if stale.startswith("raw-") or stale in ("table.txt", "summary.json", "speed-up.png", "parex-vs-peer.png"):
            os.remove(os.path.join(BENCH, stale))
    result = run(f"'{SOURCE}/benchmarks/run_suite.sh' '{BENCH}'", env=env)
    print(result.stdout, flush=True)
    programs = sorted(p for p in os.listdir(BENCH) if p.startswith("parex-bench-") and p != "parex-bench-report")
    if not programs:
        fail(f"no benchmark program in {BENCH}")
    for program in programs:
        # raw-<program>.json, or raw-<program>.part<k>.json for a program run_suite.sh runs in parts
        paths = sorted(os.path.join(BENCH, f) for f in os.listdir(BENCH)
                       if f == f"raw-{program}.json" or (f.startswith(f"raw-{program}.part") and f.endswith(".json")))
        if not paths:
            fail(f"{program}: no Google Benchmark JSON")
            continue
        ran = set()
        for path in paths:
            try:
                with open(path) as f:
                    data = json.load(f)
            except (OSError, ValueError) as e:
                fail(f"{program}: no valid Google Benchmark JSON in {os.path.basename(path)} ({e})")
                continue
            part = {b["run_name"] for b in data.get("benchmarks", [])}
            if "context" not in data or not part:
                fail(f"{program}: {os.path.basename(path)} has no context or no benchmark")
            ran |= part
            for b in data.get("benchmarks", []):
                if b.get("error_occurred"):
                    fail(f"{program}: {b['name']}: {b.get('error_message')}")
        launch = [os.path.join(BENCH, program), "--benchmark_list_tests"]
        if program == "parex-bench-mpi":  # listed as run_suite.sh runs it: its names carry the ranks
            launch = ["env", "PAREX_NUM_THREADS=1", "mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none"] + launch
        listed = subprocess.run(launch, capture_output=True, text=True, env=env).stdout.split("\n")
        missing = [name for name in listed if name and name not in ran]
        if missing:
            fail(f"{program}: registered but not in its JSON: {missing}")
        print(f"{program}: {len(ran)} benchmarks, valid JSON", flush=True)
    for output in ("table.txt", "summary.json", "speed-up.png", "parex-vs-peer.png"):
        check_file(os.path.join(BENCH, output))


# --- 2. the modules' documented commands ----------------------------------------------------------
def commands_of(readme):
    """(command, expected exit status) for every command the README shows."""
    text = open(readme).read()
    commands = []
    for fence, body in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M):
        lines = body.replace("\\\n", " ").split("\n")
        if fence == "sh":
            script = [l for l in lines if l.strip() and not l.lstrip().startswith("#")
                      and not l.startswith("cmake --workflow")]
            commands.append(("\n".join(script), 0))
            continue
        for i, line in enumerate(lines):
            command = line[2:] if line.startswith("$ ") else line if re.match(r"build/\w+/bin/parex-", line) else None
            if command is None:
                continue
            expected = 0  # or the "exit status N" line among its output, before the next command
            for after in lines[i + 1:]:
                if after.startswith("$ "):
                    break
                status = re.match(r"exit status (\d+)$", after)
                if status:
                    expected = int(status.group(1))
                    break
            commands.append((command, expected))
    for quoted in re.findall(r"`(build/\w+/bin/parex-[^`]*)`", text):
        commands.append((quoted, 0))
    return commands


def localise(command):
    """The command with this build, the source tree's data, and the one reduction."""
    command = re.sub(r"\bbuild/(release|dev)\b", BUILD, command)
    command = re.sub(r"(?<![\w/])tests/data\b", os.path.join(SOURCE, "tests/data"), command)
    command = command.replace("--n 10000", "--n 200")
    if MPIEXEC:
        command = re.sub(r"\bmpirun\b", f"'{MPIEXEC}' --oversubscribe --bind-to none", command)
    return command


def module_commands():
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    examples = os.path.join(SOURCE, "examples")
    for module in sorted(os.listdir(examples)):
        readme = os.path.join(examples, module, "README.md")
        if not os.path.isfile(readme) or not os.path.isfile(os.path.join(BIN, f"parex-{module}")):
            continue
        work = os.path.join(SCRATCH, module)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        if module == "compress":  # its transcript compresses corpus.tar in the current folder
            shutil.copy(os.path.join(SCRATCH, "corpus.tar"), work)
        commands = commands_of(readme)
        if not commands:
            fail(f"{readme}: no command found")
        for command, expected in commands:
            if "mpirun" in command and not MPIEXEC:
                print(f"SKIPPED (no MPI): {command}")
                continue
            run("set -euo pipefail\n" + localise(command), expected=expected, cwd=work, env=env)
        print(f"{module}: {len(commands)} documented commands ran", flush=True)


# --- 3. the modules' --plot -----------------------------------------------------------------------
def plots():
    work = os.path.join(SCRATCH, "plots")
    os.makedirs(work, exist_ok=True)
    for command, png in (
        (f"'{BIN}/parex-transport' --energy 100 -f --plot transport.png", "transport.png"),
        (f"'{BIN}/parex-reservoir' run --task mackey-glass --model esn --units 100 -f --plot reservoir.png",
         "reservoir.png"),
    ):
        run(command, cwd=work)
        check_file(os.path.join(work, png))


benchmark_suite()
module_commands()
plots()
if failures:
    print(f"main job: {len(failures)} failures")
    sys.exit(1)
print("main job: ok")
