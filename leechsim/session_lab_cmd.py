"""``leechsim lab SESSION_FILE``: the lab for a session file (lab_cmd dispatches here)."""

from __future__ import annotations

import argparse

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from forensics.lab.run import LabRunFailed
from forensics.lab.session_lab import run_session_lab
from forensics.lab.swarm import LabOptions
from sim.session_config import load_session

from .env import Environment, ExitStatus
from .session_cmd import session_table

UNSUPPORTED = ("peer_log", "pcap", "save_resume")


def run_session(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    given = [f"--{o.replace('_', '-')}" for o in UNSUPPORTED if getattr(ns, o)]
    if given or ns.utp is not None:
        env.error(f"{ns.scenario}: {', '.join(given + (['--utp/--tcp-only'] if ns.utp is not None else []))} "
                  f"not available for a session file (yet); run without")
        return ExitStatus.BAD_INPUT
    horizon = load_session(ns.scenario)[0].simulation.horizon_s
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=env.err_console(),
                  disable=not env.show_progress(), transient=True) as progress:
        tasks: dict[int, int] = {}

        def show(i: int, t: float | None) -> None:
            if i not in tasks:
                tasks[i] = progress.add_task(f"lab session run {i + 1}/{ns.runs}", total=horizon)
            progress.update(tasks[i], completed=horizon if t is None else t)

        try:
            lab = run_session_lab(ns.scenario, ns.out, runs=ns.runs, seed=ns.seed,
                                  options=LabOptions(tracker=ns.tracker, timeout_s=ns.timeout_s,
                                                     all_blocks=ns.all_blocks, trace_connections=ns.trace_connections),
                                  max_duration_s=ns.max_duration_s, force=ns.force, command=ns.command_line,
                                  on_progress=show)
        except LabRunFailed as e:
            env.error(str(e))
            return ExitStatus.ERROR
    env.console().print(session_table(lab.summary, f"Lab session '{lab.session.name}'", runs_label="runs"))
    env.console().print(f"Run directory: {lab.root}")
    return ExitStatus.SUCCESS
