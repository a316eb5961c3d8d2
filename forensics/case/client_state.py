"""The client's own state for one torrent: libtorrent/qBittorrent ``.fastresume`` or Transmission ``.resume``.

A fastresume file is read by libtorrent's own parser (``read_resume_data``); qBittorrent's own
keys (``qBt-*``) and Transmission's resume (both bencoded) from the bencoded dictionary. Counters
become ``[evidence]`` observations; per-torrent limits become the subject's settings where they
mean the same thing in the model; everything else is listed as not mapped, with the reason.
"""

from __future__ import annotations

import re

from ..evidence.bencode import BencodeError, bdecode
from .evidence_file import EvidenceFile
from .mapping import Reading
from .torrent_file import TorrentEvidence

ALLOWED = "a libtorrent/qBittorrent .fastresume or a Transmission .resume file (bencoded dictionary)"
UNLIMITED = 16777215  # libtorrent's "no limit" for max_uploads / max_connections
NOT_COMPARED_DOWNLOAD = ("not compared with the model: the counter includes blocks received twice (end game) or "
                         "discarded (failed hash checks), the model receives each byte of the torrent once")
ONE_TORRENT = "exact while this is the client's only active torrent (the model's subject runs one torrent)"


def read_client_state(ev: EvidenceFile, torrent: TorrentEvidence | None) -> Reading:
    try:
        top = bdecode(ev.data)
    except BencodeError as e:
        raise ev.error("<bencoding>", f"truncated or corrupt ({e})", ALLOWED) from None
    if not isinstance(top, dict):
        raise ev.error("<top level>", "not a dictionary", ALLOWED)
    if top.get(b"file-format") == b"libtorrent resume file":
        return _fastresume(ev, top, torrent)
    if b"added-date" in top and b"uploaded" in top:
        return _transmission(ev, top, torrent)
    raise ev.error("file-format", "neither 'libtorrent resume file' nor Transmission's keys (added-date, uploaded)",
                   ALLOWED)


def _int(ev: EvidenceFile, d: dict, key: bytes) -> int | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, int):
        raise ev.error(key.decode(), f"{v!r} is not an integer", "a bencoded integer")
    return v


def _fastresume(ev: EvidenceFile, top: dict, torrent: TorrentEvidence | None) -> Reading:
    import libtorrent as lt

    try:
        params = lt.read_resume_data(ev.data)
    except RuntimeError as e:
        raise ev.error("<resume data>", f"libtorrent cannot read it ({e})", ALLOWED) from None
    qbt = any(k.startswith(b"qBt-") for k in top)
    r = Reading(ev, "qBittorrent fastresume" if qbt else "libtorrent fastresume")
    hashes = params.info_hashes
    v1 = str(hashes.v1) if hashes.has_v1() else None
    v2 = str(hashes.v2) if hashes.has_v2() else None
    if torrent is not None:
        if v1 and torrent.info_hash_v1 and v1 != torrent.info_hash_v1:
            raise ev.error("info-hash", f"{v1} is another torrent than {torrent.source.name} ({torrent.info_hash_v1})",
                           f"the resume file of {torrent.source.name}")
        if v2 and torrent.info_hash_v2 and v2 != torrent.info_hash_v2:
            raise ev.error("info-hash2", f"{v2} is another torrent than {torrent.source.name} ({torrent.info_hash_v2})",
                           f"the resume file of {torrent.source.name}")
        if not ((v1 and v1 == torrent.info_hash_v1) or (v2 and v2 == torrent.info_hash_v2)):
            raise ev.error("info-hash", "no info-hash in common with " + torrent.source.name,
                           f"the resume file of {torrent.source.name}")
    r.observe("subject_upload_total_bytes", int(params.total_uploaded), "total_uploaded")
    r.counters = {"total_uploaded": int(params.total_uploaded), "total_downloaded": int(params.total_downloaded)}
    r.notes.append(f"total_downloaded = {params.total_downloaded}: {NOT_COMPARED_DOWNLOAD}")
    added, completed = int(params.added_time), int(params.completed_time)
    if added > 0:
        r.added_unix = float(added)
    if added > 0 and completed >= added:
        r.observe("subject_download_time_s", float(completed - added),
                  "completed_time - added_time (wall clock; includes any time paused)")
    if params.seeding_time > 0:
        r.observe("subject_seeding_time_s", float(params.seeding_time), "seeding_time (seconds seeding while running)")
    r.notes.append(f"active_time {params.active_time} s, finished_time {params.finished_time} s, "
                   f"seeding_time {params.seeding_time} s (libtorrent's own clocks, seconds while running)")
    flags = params.flags
    r.notes.append("at save time: " + ", ".join(
        f"{name} {'yes' if flags & getattr(lt.torrent_flags, name) else 'no'}"
        for name in ("paused", "auto_managed", "seed_mode", "upload_mode", "stop_when_ready")))
    if params.upload_limit > 0:
        r.set("subject.libtorrent.upload_rate_limit", int(params.upload_limit), f"upload_rate_limit (per torrent; {ONE_TORRENT})")
    if params.download_limit > 0:
        r.set("subject.libtorrent.download_rate_limit", int(params.download_limit),
              f"download_rate_limit (per torrent; {ONE_TORRENT})")
    for key, model in (("max_uploads", "unchoke_slots_limit"), ("max_connections", "connections_limit")):
        v = getattr(params, key)
        if 0 < v < UNLIMITED:
            r.cannot_map(key, v, f"a per-torrent cap inside the session's {model}; the model has the session's only "
                                 "(set subject.libtorrent." + model + " by hand if this cap is the lower one)")
    if qbt:
        _qbt_limits(ev, top, r)
    return r


def _qbt_limits(ev: EvidenceFile, top: dict, r: Reading) -> None:
    ratio = _int(ev, top, b"qBt-ratioLimit")  # x1000; -2000: the global limit, -1000: none
    minutes = _int(ev, top, b"qBt-seedingTimeLimit")  # -2: the global limit, -1: none
    ratio_set = ratio is not None and ratio >= 0
    time_set = minutes is not None and minutes >= 0
    if ratio_set and time_set:
        r.cannot_map("qBt-ratioLimit + qBt-seedingTimeLimit", (ratio / 1000, minutes),
                     "both limits: qBittorrent stops at whichever comes first; the model's on_complete takes one")
    elif ratio_set:
        r.set("subject.on_complete", "seed_until_ratio", "qBt-ratioLimit (per torrent)")
        r.set("subject.seed_until_ratio", ratio / 1000, "qBt-ratioLimit / 1000")
    elif time_set:
        r.set("subject.on_complete", "seed_for", "qBt-seedingTimeLimit (per torrent)")
        r.set("subject.seed_for_s", minutes * 60.0, "qBt-seedingTimeLimit x 60 s")
    for key, meaning in ((b"qBt-ratioLimit", {-2000: "the global limit", -1000: "no limit"}),
                         (b"qBt-seedingTimeLimit", {-2: "the global limit", -1: "no limit"})):
        v = top.get(key)
        if v in meaning:
            r.notes.append(f"{key.decode()} = {v}: {meaning[v]}")
    r.no_seeding_limit = ratio == -1000 and minutes == -1


_HASH_IN_NAME = re.compile(r"(?i)(?:^|\.)([0-9a-f]{40})(?:\.resume)?$|\.([0-9a-f]{16})\.resume$")


def _transmission(ev: EvidenceFile, top: dict, torrent: TorrentEvidence | None) -> Reading:
    r = Reading(ev, "Transmission resume")
    name = top.get(b"name", b"").decode("utf-8", "replace")
    if torrent is not None:
        # Transmission keeps the info-hash in the file name (3.00: <hash>.resume; 2.x: <name>.<hash16>.resume)
        m = _HASH_IN_NAME.search(ev.name)
        if m and torrent.info_hash_v1:
            h = (m.group(1) or m.group(2)).lower()
            if not torrent.info_hash_v1.startswith(h):
                raise ev.error("<file name>", f"info-hash {h} is another torrent than {torrent.source.name} "
                                              f"({torrent.info_hash_v1})", f"the resume file of {torrent.source.name}")
        if name and name != torrent.name:
            raise ev.error("name", f"{name!r} is another torrent than {torrent.source.name} ({torrent.name!r})",
                           f"the resume file of {torrent.source.name}")
        if not m:
            r.notes.append("the file name holds no info-hash: matched to the torrent by name only")
    up, down = _int(ev, top, b"uploaded"), _int(ev, top, b"downloaded")
    if up is not None:
        r.observe("subject_upload_total_bytes", up, "uploaded")
        r.counters["uploaded"] = up
    if down is not None:
        r.counters["downloaded"] = down
        r.notes.append(f"downloaded = {down}: {NOT_COMPARED_DOWNLOAD}")
    added, done = _int(ev, top, b"added-date"), _int(ev, top, b"done-date")
    if added:
        r.added_unix = float(added)
    if added and done and done >= added:
        r.observe("subject_download_time_s", float(done - added), "done-date - added-date (wall clock; includes any time paused)")
    seeding = _int(ev, top, b"seeding-time-seconds")
    if seeding:
        r.observe("subject_seeding_time_s", float(seeding), "seeding-time-seconds")
    for key in (b"downloading-time-seconds", b"seeding-time-seconds", b"activity-date", b"paused", b"corrupt"):
        if key in top:
            r.notes.append(f"{key.decode()} = {top[key]}")
    for key, setting in ((b"speed-limit-up", "upload_rate_limit"), (b"speed-limit-down", "download_rate_limit")):
        lim = top.get(key)
        if isinstance(lim, dict):
            if lim.get(b"use-speed-limit") and isinstance(lim.get(b"speed-Bps"), int):
                r.set(f"subject.libtorrent.{setting}", lim[b"speed-Bps"],
                      f"{key.decode()}.speed-Bps (per torrent; {ONE_TORRENT})")
            r.notes.append(f"{key.decode()}: use-speed-limit {lim.get(b'use-speed-limit')}, "
                           f"use-global-speed-limit {lim.get(b'use-global-speed-limit')}")
    ratio = top.get(b"ratio-limit")
    if isinstance(ratio, dict):
        mode = ratio.get(b"ratio-mode")  # 0: the global setting, 1: this torrent's, 2: unlimited
        if mode == 1:
            try:
                value = float(ratio.get(b"ratio-limit", b"").decode() if isinstance(ratio.get(b"ratio-limit"), bytes)
                              else ratio.get(b"ratio-limit"))
            except (TypeError, ValueError):
                raise ev.error("ratio-limit.ratio-limit", repr(ratio.get(b"ratio-limit")), "a number") from None
            r.set("subject.on_complete", "seed_until_ratio", "ratio-limit.ratio-mode = 1 (per torrent)")
            r.set("subject.seed_until_ratio", value, "ratio-limit.ratio-limit")
        r.notes.append(f"ratio-limit.ratio-mode = {mode} (0: global, 1: this torrent, 2: unlimited)")
        r.no_seeding_limit = mode == 2
    idle = top.get(b"idle-limit")
    if isinstance(idle, dict) and idle.get(b"idle-mode") == 1:
        r.cannot_map("idle-limit", idle.get(b"idle-limit"), "stops after N idle minutes; the model has no idle-time policy")
    if b"max-peers" in top:
        r.cannot_map("max-peers", top[b"max-peers"], "Transmission's per-torrent peer cap; the model's subject runs "
                                                    "libtorrent's connection logic, not Transmission's")
    r.cannot_map("<client>", "Transmission", "Transmission's choker and piece picker are not libtorrent's; the model's "
                                             "subject runs libtorrent's (assumed in the case)")
    return r
