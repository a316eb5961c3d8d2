"""Expert reports from run directories: ``build_report(run_dir, ReportOptions(...))``.

Modules: ``rundata`` (load and check a run), ``exposure`` (monitors, recipients, files),
``counterfactuals`` and ``sensitivity`` (re-simulations with the run's seeds), ``sources``
(where each parameter came from), ``figures`` (matplotlib), ``templates`` and ``build``.
"""
