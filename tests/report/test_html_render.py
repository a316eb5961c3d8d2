"""The HTML report renders in a real browser: headless Debian chromium takes a screenshot of it.

scripts/test installs chromium; without it this test is skipped and says why. Set
LEECHSIM_SCREENSHOT_DIR to keep the screenshot for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import matplotlib.image as mpimg
import numpy as np
import pytest

from .conftest import run_cli

pytestmark = pytest.mark.chromium
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html, png, width=1200, height=3000):
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             f"--screenshot={png}", f"--window-size={width},{height}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and png.is_file(), proc.stderr[-2000:]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test installs it: apt-get install chromium)")
def test_report_renders_in_chromium(fixed_run, tmp_path):
    """The page renders: text on white at the top, and the embedded matplotlib figures further down."""
    code, _, err = run_cli("report", fixed_run, "--variant-runs", "2", "--workers", "1",
                           "--range", "swarm.leechers.count=3,8")
    assert code == 0, err
    top, full = tmp_path / "top.png", tmp_path / "full.png"
    screenshot(fixed_run / "report.html", top)
    screenshot(fixed_run / "report.html", full, height=12000)
    img = mpimg.imread(top)[..., :3]
    assert img.shape[:2] == (3000, 1200)
    dark = (img.mean(axis=2) < 0.35).mean()
    assert 0.005 < dark < 0.5, f"top of the page looks blank or black: {dark:.4f} dark pixels"
    # The figures' matplotlib blue (#1f77b4) must appear: the base64 images were decoded and drawn.
    page = mpimg.imread(full)[..., :3]
    blue = (np.abs(page - np.array([0x1f, 0x77, 0xb4]) / 255).max(axis=2) < 0.08).sum()
    assert blue > 500, f"no figure pixels found ({blue})"
    keep = os.environ.get("LEECHSIM_SCREENSHOT_DIR")
    if keep:
        shutil.copy(top, os.path.join(keep, "report-top.png"))
        shutil.copy(full, os.path.join(keep, "report-full.png"))
