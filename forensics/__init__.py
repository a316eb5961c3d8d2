"""leechsim's forensic layer: run directories, provenance, the real lab, reports and the CLI.

``forensics`` may import ``sim``; ``sim`` never imports ``forensics``.
"""

__version__ = "0.1.0"
