"""Expert reports from run directories: ``build_report(run_dir, ReportOptions(...))``.

Rendering only: the numbers come from ``forensics.rundir`` (the run directory) and
``forensics.analysis`` (exposure, counterfactuals, sensitivity). Modules: ``build`` (assemble and
write), ``figures`` (matplotlib, PNG bytes), ``templates`` (HTML and Markdown), ``sources`` (where
each parameter came from), ``method`` (the method's text), ``error_rate`` (the validation section),
``validation_md`` (docs/validation.md).
"""
