"""Name the compiled kernels for Linux ``perf``: run one replication of a scenario, then write
``/tmp/perf-PID.map``, the map perf reads for code generated at run time (perf's "JIT" symbols).

Run: perf record -F 999 -o perf.data python -m benchmarks.perf_symbols SCENARIO.toml
     perf report -i perf.data --sort sym

Without the map perf shows numba's code as bare addresses; with it, each sample is named by the
kernel it fell in, as ``CALLER:module.function`` (CALLER: the compiled entry point whose library
holds that copy: numba links a callee's code into every caller that is not inlined, so
``swarm_ticks:transfer.transfer_blocks`` is transfer_blocks as the batched tick loop runs it). A
kernel inlined into its caller is counted as the caller.

How: numba loads cached kernels from object code (an ELF relocatable file). Loading is watched
(``CPUCodeLibrary._unserialize``) so that each library's object code is kept; its symbol table
(``nm``, binutils) gives every function's offset and size, and the entry point's address in this
process (``get_pointer_to_function``) places them. A kernel compiled in this process rather than
loaded from the cache is placed from the object code numba kept when it compiled it (or that of its
final LLVM module). numba's runtime functions (reference counting: NRT_incref, NRT_decref), which
the runtime compiles in the process, are named ``numba_runtime:NAME``. This reads numba
internals (numba 0.6x); it is a developer's tool, not part of any result.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba.core.codegen as _codegen

_ORIGINAL_UNSERIALIZE = _codegen.CPUCodeLibrary._unserialize.__func__


def _keep_object_code(cls, codegen, state):
    lib = _ORIGINAL_UNSERIALIZE(cls, codegen, state)
    if state[1] == "object":
        lib._leechsim_object_code = state[2][0]
    return lib


_codegen.CPUCodeLibrary._unserialize = classmethod(_keep_object_code)


def short_name(symbol: str) -> str:
    """``module.function`` from a numba symbol (Itanium-mangled ``_ZN3sim7kernels8transfer...``);
    other symbols as they are (cut to 60 characters)."""
    start = symbol.find("_ZN")
    if start < 0:
        return symbol[:60]
    parts, i = [], start + 3
    while i < len(symbol) and symbol[i].isdigit():
        digits = re.match(r"\d+", symbol[i:]).group()
        i += len(digits)
        parts.append(symbol[i:i + int(digits)])
        i += int(digits)
    prefix = "cpython:" if "cpython" in symbol[:start + 12] else ("cfunc:" if symbol.startswith("cfunc") else "")
    return prefix + ".".join(parts[-2:])


def _object_code(lib) -> bytes | None:
    code = getattr(lib, "_leechsim_object_code", None) or getattr(lib, "_compiled_object", None)
    if code:
        return code
    try:
        return lib._codegen._tm.emit_object(lib._final_module)
    except Exception:  # a library with nothing to emit (or an internal numba changed): skipped
        return None


def _text_symbols(object_code: bytes) -> dict[str, tuple[int, int]]:
    with tempfile.NamedTemporaryFile(suffix=".o", delete=False) as f:
        f.write(object_code)
        path = f.name
    try:
        out = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(path)
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "TtWw":
            symbols[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
    return symbols


def compiled_symbols() -> list[tuple[int, int, str]]:
    """(address, size, name) of every function of every compiled kernel loaded in this process."""
    from numba.core.registry import CPUDispatcher
    rows = set()
    # type(), not isinstance(): gc also lists weak proxies, and isinstance() asks a dead one for
    # its __class__, which raises ReferenceError
    for dispatcher in [o for o in gc.get_objects() if issubclass(type(o), CPUDispatcher)]:
        for cres in list(dispatcher.overloads.values()):
            code = _object_code(cres.library)
            if code is None:
                continue
            symbols = _text_symbols(code)
            entry = cres.fndesc.llvm_func_name
            if entry not in symbols:
                continue
            base = cres.library.get_pointer_to_function(entry) - symbols[entry][0]
            for name, (offset, size) in symbols.items():
                rows.add((base + offset, size, f"{dispatcher.py_func.__name__}:{short_name(name)}"))
    rows |= runtime_symbols()
    return sorted(rows)


def runtime_symbols() -> set[tuple[int, int, str]]:
    """(address, size, name) of numba's runtime functions (NRT_incref, NRT_decref, ...), named
    ``numba_runtime:NAME``: the runtime compiles them in the process when it starts, outside any
    kernel's library, and kernels compiled with it call them for every reference they count. Each
    is placed at its own address (``get_pointer_to_function``); its size is the object code's."""
    from numba.core.runtime import rtsys
    if not getattr(rtsys, "_init", False):
        return set()
    lib = rtsys.library
    code = _object_code(lib)
    if code is None:
        return set()
    rows = set()
    for name, (_, size) in _text_symbols(code).items():
        address = lib.get_pointer_to_function(name)  # (0: a symbol the JIT did not keep)
        if address and size:
            rows.add((address, size, f"numba_runtime:{name}"))
    return rows


def write_map(path: Path | None = None) -> Path:
    """Write perf's map for this process (``/tmp/perf-PID.map`` unless ``path``); returns it."""
    path = Path(path or f"/tmp/perf-{os.getpid()}.map")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        for address, size, name in compiled_symbols():
            f.write(f"{address:x} {size:x} {name}\n")
    os.replace(tmp, path)
    return path


def cli(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf_symbols", description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", help="scenario file: one replication (its seed) is run, then the map written")
    a = ap.parse_args(argv)
    import numpy as np
    from sim.engine import SwarmRun
    from sim.scenario import ScenarioError, load_scenario
    try:
        sc = load_scenario(a.scenario)
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    SwarmRun(sc, 0, np.random.SeedSequence(sc.simulation.seed)).run()
    wall = time.perf_counter() - t0
    path = write_map()
    print(f"{a.scenario}: one replication in {wall:.1f} s (numba compilation or cache loading included); "
          f"perf map: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
