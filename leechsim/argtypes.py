"""argparse value types shared by the commands: each says what is allowed when it refuses."""

from __future__ import annotations

import argparse
import re


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = 0.0
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return v


def seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 0 <= v < 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number in [0, 2**63), got {text!r}")
    return v


def scheduler(text: str) -> str:
    if not re.fullmatch(r"(tcp|tls)://[A-Za-z0-9_.\-\[\]:]+:[0-9]{1,5}", text):
        raise argparse.ArgumentTypeError(f"expected tcp://HOST:PORT (or tls://HOST:PORT), got {text!r}")
    return text
