"""leechsim's library: run directories, overrides and sweep grids, running and re-running, analysis,
rendering, and the real lab. ``forensics`` may import ``sim``; ``sim`` never imports ``forensics``;
the command line (``leechsim/``) sits on top and nothing here imports it.

The public API (docs/api.md) is importable from this package; each name is loaded on first use,
so importing ``forensics`` (as every lab peer process does) stays cheap::

    from forensics import simulate_run, load_run, run_sweep, build_report, ReportOptions
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    # running a scenario into a run directory, and re-running one from its manifest
    "simulate_run": "runs", "rerun": "runs", "rerun_args": "runs", "read_manifest": "rundir",
    "SimulatedRun": "runs",
    # scenario overrides (--set) and sweep grids (--vary)
    "load_with_overrides": "overrides", "parse_override": "overrides", "parse_vary": "overrides",
    "grid": "overrides", "Cell": "overrides", "dotted_value": "overrides",
    "run_sweep": "sweep", "Sweep": "sweep",
    "run_corpus": "corpus_run", "simulate_corpus": "corpus_run", "load_corpus": "corpus",
    "corpus_answer": "analysis.corpus",
    # the run directory: the only writer and reader, and its integrity checks
    "load_run": "rundir", "RunData": "rundir", "RunDirWriter": "rundir", "RunDirError": "rundir",
    "integrity_problems": "rundir", "report_problems": "rundir",
    # does a run reproduce?
    "verify_run": "reproduce", "Verification": "reproduce", "rerun_differences": "reproduce",
    "software_differences": "reproduce",
    # analysis
    "describe": "analysis.stats", "Stat": "analysis.stats",
    "recipients": "analysis.exposure", "monitor_exposure": "analysis.exposure", "file_exposure": "analysis.exposure",
    "default_variants": "analysis.counterfactuals", "run_counterfactuals": "analysis.counterfactuals",
    "outcome_from_results": "analysis.counterfactuals",
    "default_ranges": "analysis.sensitivity", "parse_ranges": "analysis.sensitivity", "run_tornado": "analysis.sensitivity",
    "compare_sim_with_lab": "analysis.sim_vs_lab", "error_rate": "analysis.sim_vs_lab",
    "run_validation": "calibration", "record_lab_runs": "calibration",
    # the lab, connection traces and packet captures
    "run_lab": "lab.run", "LabRun": "lab.run", "LabRunFailed": "lab.run", "LabOptions": "lab.swarm",
    "write_trace_report": "connection_report", "read_capture": "evidence.pcap",
    # a case from the evidence, and observed values against the simulation
    "build_case": "case.build", "write_case": "case.build",
    "policy_variants": "analysis.observed", "validated_errors": "analysis.observed", "compare": "analysis.observed",
    "likelihood_ratio": "analysis.observed",
    # rendering
    "build_report": "report.build", "ReportOptions": "report.build",
    "UserError": "errors",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
