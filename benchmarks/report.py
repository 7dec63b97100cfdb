"""Render benchmarks/results.json (from run.py) as the Markdown tables of RESULTS.md.

    python benchmarks/report.py [results.json] > section.md
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine_line(m):
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)"
                     for b in m["blas"])
    torch = f"PyTorch {m['torch']['version']} ({m['torch']['threads']} threads); " if m["torch"] else ""
    return (f"Machine: {m['cpu']}, {m['cores']} cores; BLAS {blas}; NumPy {m['numpy']}; {torch}"
            f"Python {m['python']}; {m['date']}; commit {m['commit']}.")


def workload_tables(row):
    e, f = row["eval_seconds"], row["fit"]
    lines = [f"#### ({row['workload']}) {row['shape']}, {row['data']}: median of {row['repeats']} "
             f"evaluations; fits of {row['fit_iterations']} L-BFGS iterations", "",
             "| | s / evaluation | ÷ floor f64 | ÷ sparseae f64 |", "|---|---|---|---|"]
    for key, seconds in e.items():
        lines.append(f"| {key} | {seconds * 1e3:.2f} ms | {seconds / e['floor_f64']:.2f} "
                     f"| {seconds / e['sparseae_f64']:.2f} |")
    lines += ["", "| fit (L-BFGS memory) | seconds | final cost | s to PyTorch's final cost "
              "| PyTorch fit ÷ this |", "|---|---|---|---|---|"]
    torch_seconds = f["torch_autograd"]["seconds"]
    for key, fit in f.items():
        if key.startswith("sklearn"):
            memory = "sklearn) (no sparsity term; its own loss"
        elif key.startswith("sparseae_auto"):
            memory = row["lbfgs_memory_auto"]
        else:
            memory = 10
        reached = fit["seconds_to_torch_final_cost"]
        speedup = f"{torch_seconds / reached:.2f}x" if reached else "—"
        lines.append(f"| {key} ({memory}) | {fit['seconds']:.2f} | {fit['final_cost']:.6f} "
                     f"| {round(reached, 2) if reached else 'not reached'} | {speedup} |")
    act = row["activations_bytes_f64"]
    mem = ", ".join(f"{k} {v / 2**20:.1f} MiB = {v / act:.2f}x the float64 activations ({act / 2**20:.1f} MiB)"
                    for k, v in row["peak_memory_bytes_beyond_X"].items())
    lines += ["", f"Peak memory during a fit beyond X (tracemalloc): {mem}.", ""]
    return lines


def lbfgs_table(study):
    lines = ["L-BFGS history size on (a), sparseae f64, 400 iterations:", "",
             "| maxcor | final cost | seconds | s to reach the worst final cost |", "|---|---|---|---|"]
    for k, v in study.items():
        lines.append(f"| {k} | {v['final_cost']:.6f} | {v['seconds']:.2f} | {v['seconds_to_common_cost']:.2f} |")
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    result = json.loads(Path(argv[0] if argv else ROOT / "benchmarks" / "results.json").read_text())
    lines = [machine_line(result["machine"]), ""]
    for row in result["workloads"]:
        lines += workload_tables(row)
    if "lbfgs_memory" in result:
        lines += lbfgs_table(result["lbfgs_memory"])
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
