"""The client's settings file: qBittorrent's ``qBittorrent.conf`` or Transmission's ``settings.json``.

Only what means the same thing in the model is mapped (docs/evidence.md has the full table); the
rest is listed with the reason. qBittorrent is built on libtorrent and hands most of these values
to libtorrent's settings_pack unchanged; a key absent from its file means qBittorrent's default,
which is then used and marked as assumed. Transmission is not libtorrent: only its rate and ratio
limits map (a limit is a limit), its slots and peer caps do not.
"""

from __future__ import annotations

import configparser
import json

from .evidence_file import EvidenceFile
from .mapping import Reading

ALLOWED = "qBittorrent's qBittorrent.conf (INI with a [BitTorrent] section) or Transmission's settings.json"

# qBittorrent 4.x: key -> (scenario key, convert, default when the key is absent, what the value is)
_QBT = {
    "Session\\GlobalUPSpeedLimit": ("subject.libtorrent.upload_rate_limit", lambda v: int(v) * 1024, "0",
                                   "KiB/s x 1024 -> settings_pack upload_rate_limit"),
    "Session\\GlobalDLSpeedLimit": ("subject.libtorrent.download_rate_limit", lambda v: int(v) * 1024, "0",
                                   "KiB/s x 1024 -> settings_pack download_rate_limit"),
    "Session\\MaxUploads": ("subject.libtorrent.unchoke_slots_limit", int, "20", "-> settings_pack unchoke_slots_limit"),
    "Session\\MaxConnections": ("subject.libtorrent.connections_limit", int, "500", "-> settings_pack connections_limit"),
    "Session\\ChokingAlgorithm": ("subject.libtorrent.choking_algorithm",
                                 {"FixedSlots": "fixed_slots_choker", "RateBased": "rate_based_choker"}.__getitem__,
                                 "FixedSlots", "-> settings_pack choking_algorithm"),
    "Session\\SeedChokingAlgorithm": ("subject.libtorrent.seed_choking_algorithm",
                                     {"RoundRobin": "round_robin", "FastestUpload": "fastest_upload",
                                      "AntiLeech": "anti_leech"}.__getitem__,
                                     "FastestUpload", "-> settings_pack seed_choking_algorithm"),
    # the send buffer and the request queue (Advanced settings; qBittorrent's defaults are libtorrent's)
    "Session\\SendBufferWatermark": ("subject.libtorrent.send_buffer_watermark", lambda v: int(v) * 1024, "500",
                                     "KiB x 1024 -> settings_pack send_buffer_watermark"),
    "Session\\SendBufferLowWatermark": ("subject.libtorrent.send_buffer_low_watermark", lambda v: int(v) * 1024, "10",
                                        "KiB x 1024 -> settings_pack send_buffer_low_watermark"),
    "Session\\SendBufferWatermarkFactor": ("subject.libtorrent.send_buffer_watermark_factor", int, "50",
                                           "percent -> settings_pack send_buffer_watermark_factor"),
    "Session\\RequestQueueSize": ("subject.libtorrent.max_out_request_queue", int, "500",
                                  "-> settings_pack max_out_request_queue"),
    # "Include overhead in rate limits"; qBittorrent's default is off, libtorrent's on
    "Session\\IncludeOverheadInLimits": ("subject.libtorrent.rate_limit_ip_overhead",
                                        {"true": True, "false": False}.__getitem__, "false",
                                        "-> settings_pack rate_limit_ip_overhead"),
}
_QBT_NOT_MAPPED = {
    "Session\\MaxUploadsPerTorrent": "a per-torrent cap inside unchoke_slots_limit; the model has the session's only",
    "Session\\MaxConnectionsPerTorrent": "a per-torrent cap inside connections_limit; the model has the session's only",
    "Session\\BTProtocol": "the transport (TCP/uTP); the model moves bytes over TCP-like connections only",
    "Session\\uTPRateLimited": "uTP's share of the rate limit; the model has no uTP",
    "Session\\AlternativeGlobalUPSpeedLimit": "the alternative limit applies only while switched on or scheduled; "
                                              "the model has one limit for the whole run",
    "Session\\UseAlternativeGlobalSpeedLimit": "the alternative limits replace the global ones while switched on; "
                                                "the model has one limit for the whole run",
    "Session\\BandwidthSchedulerEnabled": "a schedule of limits; the model has one limit for the whole run",
    "Session\\QueueingSystemEnabled": "queueing among many torrents; the model's subject runs one torrent",
    "Session\\GlobalMaxInactiveSeedingMinutes": "stops after N idle minutes; the model has no idle-time policy",
}
_RATIO_ACTIONS = {"0": "pause", "1": "remove", "3": "remove with files"}  # 2: super seeding (keeps seeding)


def read_client_settings(ev: EvidenceFile) -> Reading:
    text = _text(ev)
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ev.error("<json>", f"not valid JSON ({e})", ALLOWED) from None
        if not isinstance(data, dict):
            raise ev.error("<top level>", "not a JSON object", ALLOWED)
        return _transmission(ev, data)
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # keys are case-sensitive in qBittorrent
    try:
        parser.read_string(text)
    except configparser.Error as e:
        raise ev.error("<ini>", f"not a readable INI file ({type(e).__name__}: {str(e).splitlines()[0]})", ALLOWED) from None
    if not parser.has_section("BitTorrent"):
        raise ev.error("[BitTorrent]", "no such section (qBittorrent 4.x and later keep their session settings there)",
                       ALLOWED)
    return _qbittorrent(ev, parser["BitTorrent"])


def _text(ev: EvidenceFile) -> str:
    try:
        return ev.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ev.error("<file>", "not UTF-8 text", ALLOWED) from None


def _qbittorrent(ev: EvidenceFile, sec: configparser.SectionProxy) -> Reading:
    r = Reading(ev, "qBittorrent settings")
    for key, (target, convert, default, what) in _QBT.items():
        given = sec.get(key)
        raw = default if given is None else given.strip().strip('"')
        try:
            value = convert(raw)
        except (KeyError, ValueError):
            raise ev.error(f"[BitTorrent] {key}", repr(raw), _allowed_for(key)) from None
        if target.endswith(("unchoke_slots_limit", "connections_limit")) and value < 0:
            r.cannot_map(key, raw, "-1 (unlimited): the model needs a finite number; set it by hand")
            continue
        if given is None:
            r.assumed[target] = (value, f"qBittorrent's default {key} = {default} (absent from {ev.name}), {what}")
        else:
            r.set(target, value, f"[BitTorrent] {key} = {raw}, {what}")
    ratio = sec.get("Session\\GlobalMaxRatio")
    minutes = sec.get("Session\\GlobalMaxSeedingMinutes")
    action = sec.get("Session\\MaxRatioAction", "0").strip()
    ratio_v = _float(ev, "Session\\GlobalMaxRatio", ratio) if ratio is not None else -1.0
    minutes_v = _float(ev, "Session\\GlobalMaxSeedingMinutes", minutes) if minutes is not None else -1.0
    if ratio_v >= 0 or minutes_v >= 0:
        if action not in _RATIO_ACTIONS:
            r.cannot_map("Session\\MaxRatioAction", action, "super seeding at the limit: it keeps seeding")
        elif ratio_v >= 0 and minutes_v >= 0:
            r.cannot_map("Session\\GlobalMaxRatio + GlobalMaxSeedingMinutes", (ratio_v, minutes_v),
                         "both limits: qBittorrent stops at whichever comes first; the model's on_complete takes one")
        elif ratio_v >= 0:
            r.set("subject.on_complete", "seed_until_ratio", f"[BitTorrent] Session\\GlobalMaxRatio, action {_RATIO_ACTIONS[action]}")
            r.set("subject.seed_until_ratio", ratio_v, "[BitTorrent] Session\\GlobalMaxRatio")
        else:
            r.set("subject.on_complete", "seed_for", f"[BitTorrent] Session\\GlobalMaxSeedingMinutes, action {_RATIO_ACTIONS[action]}")
            r.set("subject.seed_for_s", minutes_v * 60.0, "[BitTorrent] Session\\GlobalMaxSeedingMinutes x 60 s")
    for key, why in _QBT_NOT_MAPPED.items():
        if key in sec:
            r.cannot_map(key, sec[key], why)
    return r


def _allowed_for(key: str) -> str:
    convert = _QBT[key][1]
    if hasattr(convert, "__self__") and isinstance(convert.__self__, dict):
        return ", ".join(convert.__self__)
    return "an integer"


def _float(ev: EvidenceFile, key: str, text: str) -> float:
    try:
        return float(text.strip().strip('"'))
    except ValueError:
        raise ev.error(f"[BitTorrent] {key}", repr(text), "a number (-1: no limit)") from None


def _transmission(ev: EvidenceFile, d: dict) -> Reading:
    r = Reading(ev, "Transmission settings")
    known = {"speed-limit-up", "speed-limit-down", "ratio-limit", "peer-port", "dht-enabled", "download-dir", "rpc-port"}
    if not known & set(d):
        raise ev.error("<keys>", "none of Transmission's settings keys (speed-limit-up, ratio-limit, peer-port, ...)",
                       ALLOWED)
    for key, target in (("speed-limit-up", "upload_rate_limit"), ("speed-limit-down", "download_rate_limit")):
        if d.get(f"{key}-enabled") is True:
            v = d.get(key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise ev.error(key, repr(v), "a number of kB/s >= 0")
            # Transmission's speed unit in settings.json is kB/s of 1000 bytes (tr_speed_K = 1000)
            r.set(f"subject.libtorrent.{target}", int(round(v * 1000)), f"{key} = {v} kB/s x 1000 ({key}-enabled)")
    if d.get("ratio-limit-enabled") is True:
        v = d.get("ratio-limit")
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise ev.error("ratio-limit", repr(v), "a number > 0")
        r.set("subject.on_complete", "seed_until_ratio", "ratio-limit-enabled = true")
        r.set("subject.seed_until_ratio", float(v), "ratio-limit")
    if d.get("alt-speed-enabled") is True or d.get("alt-speed-time-enabled") is True:
        r.cannot_map("alt-speed-*", d.get("alt-speed-up"), "the alternative (turtle) limits apply while switched on or "
                                                          "scheduled; the model has one limit for the whole run")
    if d.get("idle-seeding-limit-enabled") is True:
        r.cannot_map("idle-seeding-limit", d.get("idle-seeding-limit"), "stops after N idle minutes; the model has no "
                                                                      "idle-time policy")
    for key, why in (("upload-slots-per-torrent", "Transmission's unchoke slots; its choker is not libtorrent's, "
                                                  "which the model's subject runs"),
                     ("peer-limit-global", "Transmission's connection cap; its connection logic is not libtorrent's"),
                     ("peer-limit-per-torrent", "Transmission's per-torrent peer cap; not libtorrent's logic"),
                     ("utp-enabled", "the transport (TCP/uTP); the model moves bytes over TCP-like connections only")):
        if key in d:
            r.cannot_map(key, d[key], why)
    return r
