"""The session matrix (validation/sessions/) against its recorded lab runs (no lab needed).

docs/validation-sessions.md must be what the current model gives: the simulator is deterministic,
so re-running the comparison on the recordings reproduces every number. A model change not
followed by `leechsim validate --sessions validation/sessions --sim-runs 1000 --out
runs/validation-sessions --doc docs/validation-sessions.md` fails here."""

import hashlib
import io
import json
from pathlib import Path

from leechsim.env import Environment
from leechsim.main import main

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = ROOT / "validation" / "sessions"


def test_every_session_has_fifteen_recorded_lab_runs_of_its_files_as_they_are():
    """Each session file has a recording: a lab-session run directory with 15 runs or more of every
    torrent (the one-torrent matrix's rule), made from the session file and the scenario files it
    names as they are now (their SHA-256 in the manifest): a file changed after its recording
    would compare the model of one swarm with the lab of another."""
    from sim.session_config import load_session
    names = sorted(p.stem for p in SESSIONS.glob("*.toml"))
    assert len(names) >= 2
    for name in names:
        rec = SESSIONS / "recorded" / name
        manifest = json.loads((rec / "manifest.json").read_text())
        assert manifest["kind"] == "lab-session" and manifest["software"]["libtorrent"], name
        assert manifest["replications"] >= 15, name
        path = SESSIONS / f"{name}.toml"
        _, hashes, raw = load_session(path)
        assert hashlib.sha256(raw).hexdigest() == manifest["scenario_sha256"], name
        recorded = {k: v for k, v in manifest["input_sha256"].items() if k != manifest["session_file"]}
        assert recorded == {k: v for k, v in hashes.items() if k != str(path)}, name
        for torrent in (rec / "torrents").iterdir():
            runs = len(list((torrent / "replications").glob("*/peers.csv")))
            assert runs == manifest["replications"], (name, torrent.name)
            assert len((torrent / "results.csv").read_text().splitlines()) == runs + 1, (name, torrent.name)


def test_documented_session_table_is_the_current_models(tmp_path):
    """Re-running the documented command on the recordings gives the published table."""
    doc = tmp_path / "validation-sessions.md"
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(["validate", "--sessions", str(SESSIONS), "--sim-runs", "1000", "--out", str(tmp_path / "v"),
                 "--doc", str(doc)], env)
    assert code == 0, env.stderr.getvalue()
    body = lambda text: text.split("**", 1)[1]  # noqa: E731 - after the command line, which names paths
    assert body(doc.read_text()) == body((ROOT / "docs" / "validation-sessions.md").read_text())
