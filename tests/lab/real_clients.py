"""Real BitTorrent clients on loopback for the evidence tests: a libtorrent seed in this process
and Debian's transmission-daemon or qbittorrent-nox as the downloading client, which then writes
its own resume and settings files. Every address is on 127.0.0.0/8; DHT, local peer discovery,
PEX and port mapping are off; the seed connects to the client directly (no tracker needed)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from forensics.lab.payload import make_torrent, write_payload
from forensics.lab.procs import popen_child, stop_process
from sim.scenario import parse_scenario

OCTET = 50 + os.getpid() % 50  # 127.OCTET.0.x: apart from the lab's 127.100-199 ranges and other test processes
SEED_IP, CLIENT_IP = f"127.{OCTET}.0.2", f"127.{OCTET}.0.3"


def require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        msg = f"{program} is not installed (apt-get install {program}; scripts/test installs it)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def lab_torrent(tmp: Path, name: str, size_bytes: int, payload_seed: int) -> tuple[Path, Path]:
    """A payload and its torrent, made exactly as the lab makes them (forensics.lab.payload)."""
    sc = parse_scenario({"torrent": {"name": name, "piece_size": "64KiB",
                                     "files": [{"path": "part1.bin", "size": size_bytes - 300_000},
                                               {"path": "part2.bin", "size": 300_000}]}})
    root = tmp / f"seed-{name}"
    write_payload(sc, root, payload_seed)
    torrent = tmp / f"{name}.torrent"
    torrent.write_bytes(make_torrent(sc, root, None))
    return torrent, root


def free_port(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def libtorrent_seed(torrent: Path, root: Path):
    import libtorrent as lt

    ses = lt.session({"listen_interfaces": f"{SEED_IP}:0", "outgoing_interfaces": SEED_IP, "enable_dht": False,
                      "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
                      "enable_outgoing_utp": False, "enable_incoming_utp": False,
                      # a refused first connect (client still starting) must not park the client for
                      # libtorrent's default 60 s x failcount, nor drop it after 3 failures
                      "min_reconnect_time": 1, "max_failcount": 1000})
    f = lt.ip_filter()  # loopback peers would otherwise be in libtorrent's unlimited "local" class
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(f)
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(str(torrent))
    p.save_path = str(root)
    p.flags = (p.flags | lt.torrent_flags.seed_mode) & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    handle = ses.add_torrent(p)
    try:
        yield handle
    finally:
        ses.pause()
        del handle, ses


def serve_until_done(handle, client: tuple[str, int], size_bytes: int, timeout_s: float = 60.0) -> None:
    """Connect to the client until it has received the whole payload from the seed. The clock starts
    once the client listens: under load a client can take many seconds to start."""
    wait_listening(client, timeout_s)
    deadline = time.monotonic() + timeout_s
    while handle.status().total_payload_upload < size_bytes:
        if time.monotonic() > deadline:
            raise AssertionError(f"the client did not download the payload within {timeout_s:.0f} s "
                                 f"({handle.status().total_payload_upload} of {size_bytes} bytes)")
        if not handle.get_peer_info():
            handle.connect_peer(client)
        time.sleep(0.3)
    time.sleep(1.0)  # the client's own bookkeeping of the completion


def wait_listening(addr: tuple[str, int], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(addr, timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"the client did not listen on {addr[0]}:{addr[1]} within {timeout_s:.0f} s")
            time.sleep(0.2)


def stop_client(proc) -> int:
    """SIGTERM, as a service manager stops it: the client saves its resume and settings files."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


@contextlib.contextmanager
def transmission(tmp: Path, settings: dict):
    """transmission-daemon in the foreground with its own config directory; torrents through a watch dir."""
    prog = require("transmission-daemon")
    cfg, watch, dl = tmp / "tr-config", tmp / "tr-watch", tmp / "tr-download"
    for d in (cfg, watch, dl):
        d.mkdir()
    port = free_port(CLIENT_IP)
    (cfg / "settings.json").write_text(json.dumps({
        "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "port-forwarding-enabled": False,
        "utp-enabled": False, "blocklist-enabled": False, "peer-port-random-on-start": False,
        "bind-address-ipv4": CLIENT_IP, "bind-address-ipv6": "::1", "peer-port": port,
        "rpc-bind-address": CLIENT_IP, "rpc-port": free_port(CLIENT_IP), "rpc-whitelist": "127.*",
        "download-dir": str(dl), "watch-dir": str(watch), "watch-dir-enabled": True, **settings}))
    proc = popen_child([prog, "-f", "-g", str(cfg), "--log-error"], stdout=open(tmp / "tr.log", "wb"),
                       stderr=subprocess.STDOUT)
    try:
        yield proc, cfg, watch, (CLIENT_IP, port)
    finally:
        stop_process(proc, grace_s=10.0)


@contextlib.contextmanager
def qbittorrent(tmp: Path, torrent: Path, bittorrent_section: dict):
    """qbittorrent-nox headless with its own profile directory, given the torrent on its command line."""
    prog = require("qbittorrent-nox")
    profile, dl = tmp / "qbt-profile", tmp / "qbt-download"
    conf = profile / "qBittorrent" / "config" / "qBittorrent.conf"
    conf.parent.mkdir(parents=True)
    port, webui = free_port(CLIENT_IP), free_port(CLIENT_IP)
    session = {"DHTEnabled": "false", "LSDEnabled": "false", "PeXEnabled": "false", "Port": port,
               "InterfaceAddress": CLIENT_IP, "BTProtocol": "TCP", **bittorrent_section}
    conf.write_text("[LegalNotice]\nAccepted=true\n\n[BitTorrent]\n"
                    + "".join(f"Session\\{k}={v}\n" for k, v in session.items())
                    + "\n[Network]\nPortForwardingEnabled=false\n\n[Preferences]\n"
                    f"WebUI\\Address={CLIENT_IP}\nWebUI\\Port={webui}\nWebUI\\LocalHostAuth=false\n")
    proc = popen_child([prog, f"--profile={profile}", f"--webui-port={webui}", "--skip-dialog=true",
                        f"--save-path={dl}", str(torrent)], stdout=open(tmp / "qbt.log", "wb"),
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield proc, profile / "qBittorrent", (CLIENT_IP, port)
    finally:
        stop_process(proc, grace_s=10.0)

