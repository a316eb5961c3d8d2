"""validation/traces/compare.py: the focused experiments' targets table, on hand-made tables."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("traces_compare", ROOT / "validation" / "traces" / "compare.py")
compare_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_mod)


def _row(exp, **kw):
    base = {"experiment": exp, "first_share": "0.5", "later_t50_fair_median_s": "0.0",
            "later_t90_fair_median_s": "1.0", "utilisation": "0.9", "choked_share": "0.1"}
    base.update({k: str(v) for k, v in kw.items()})
    return base


def test_targets_by_hand():
    lab = [_row("seniority", first_share=0.30), _row("seniority", first_share=0.40), _row("seniority", first_share=0.36)]
    # model: first share 0.27 (median) against the lab's 0.36: -25 %, missed; t50 both 0.0 (< 1 tick): met;
    # t90 1.2 against 1.0: +20 %, met; utilisation 0.5 against 0.9: missed
    sim = [_row("seniority", first_share=0.27, later_t90_fair_median_s=1.2, utilisation=0.5)] * 3
    lines, met, total, chances = compare_mod.compare(lab, sim)
    assert total == 4 and met == 2
    # three identical model runs: an exact model with the model's (no) spread meets every target;
    # with the lab's, the first share (0.30, 0.36, 0.40: a resampled median 0.30 against 0.40 is
    # -25 %) not always
    assert chances["model"] == [1.0] * 4
    assert chances["lab"][1:] == [1.0] * 3 and 0.5 < chances["lab"][0] < 1.0
    assert any("first connection's share" in l and "-25%" in l and "**missed**" in l for l in lines)
    assert any("time to 50 %" in l and "both < 1 tick" in l for l in lines)
    assert any("time to 90 %" in l and "+20%" in l and "| met |" in l for l in lines)


def test_choked_share_only_for_one_slot_and_bad_path(tmp_path, capsys):
    lines, met, total, _ = compare_mod.compare([_row("one-slot")], [_row("one-slot")])
    assert total == 5 and met == 5 and any("choked peers" in l for l in lines)
    assert compare_mod.main([str(tmp_path / "missing.csv"), str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv: cannot read" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    bad = tmp_path / "bad.csv"
    cols = list(_row("one-slot"))
    good.write_text(",".join(cols) + "\n" + ",".join(_row("one-slot").values()) + "\n")
    bad.write_text(",".join(cols) + "\n" + ",".join(_row("one-slot", utilisation="high").values()) + "\n")
    assert compare_mod.main([str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: line 2, column 'utilisation': 'high' is not a number" in err and "Traceback" not in err
    (tmp_path / "short.csv").write_text("experiment,first_share\none-slot,0.5\n")
    assert compare_mod.main([str(good), str(tmp_path / "short.csv")]) == 2
    assert "short.csv: no column 'later_t50_fair_median_s'" in capsys.readouterr().err
    assert compare_mod.main([str(good), str(good)]) == 0


def test_never_reached_counts_as_later_than_any_time():
    """An empty t90 cell (no newcomer got there): never. The median of 2 s, 3 s and never is 3 s;
    of 2 s, never and never it is never, which meets only a never."""
    lab = [_row("seniority", later_t90_fair_median_s=v) for v in (2.0, 3.0, "")]
    sim = [_row("seniority", later_t90_fair_median_s=v) for v in (3.3, "", "")]
    lines, met, total, _ = compare_mod.compare(lab, sim)
    row = next(l for l in lines if "time to 90 %" in l)
    assert "3.0 s [2.0 s–inf s]" in row and "inf s [3.3 s–inf s]" in row and "**missed**" in row
    sim = [_row("seniority", later_t90_fair_median_s=v) for v in (2.9, 3.1, "")]
    lines, _, _, _ = compare_mod.compare(lab, sim)
    assert "| met |" in next(l for l in lines if "time to 90 %" in l)


def test_exact_model_chance_by_hand():
    """Runs all alike: certain. Runs of 1.0 and 10.0, one lab run against two model runs: the lab
    median is 1.0 or 10.0 (1/2 each), the model's 1.0 (1/4), 5.5 (1/2) or 10.0 (1/4); only equal
    medians are within 20 %: 1/2 x 1/4 + 1/2 x 1/4 = 1/4. The same number on every call."""
    assert compare_mod.exact_model_chance([0.3] * 5, 3, "%") == 1.0
    c = compare_mod.exact_model_chance([1.0, 10.0], 1, "%")
    assert abs(c - 0.25) < 0.02
    assert c == compare_mod.exact_model_chance([1.0, 10.0], 1, "%")
    # times both under one quota tick always meet
    assert compare_mod.exact_model_chance([0.0, 0.4] * 10, 3, "s") == 1.0


fav_spec = importlib.util.spec_from_file_location("traces_favourites", ROOT / "validation" / "traces" / "favourites.py")
fav_mod = importlib.util.module_from_spec(fav_spec)
fav_spec.loader.exec_module(fav_mod)


def test_favourites_by_hand(tmp_path):
    """Seed 1 sends peer 2 3 MB, the subject 2 MB and peer 3 1 MB by 30 s (later samples and other
    uploaders ignored): the subject ranks 2nd, in the top 2, not in the top 1."""
    rep = tmp_path / "run" / "replications" / "0000"
    rep.mkdir(parents=True)
    rows = ["t_s,local,remote,total_up_bytes"]
    for t, (a, b, c) in ((10.0, (1_000_000, 500_000, 0)), (30.0, (3_000_000, 2_000_000, 1_000_000)),
                         (31.0, (3_000_000, 9_000_000, 1_000_000))):
        rows += [f"{t},1,2,{a}", f"{t},1,0,{b}", f"{t},1,3,{c}", f"{t},2,0,99000000"]
    (rep / "connections.csv").write_text("\n".join(rows) + "\n")
    (r,) = fav_mod.favourites(tmp_path / "run", uploader=1, at_s=30.0, top=2)
    assert (r["subject_rank"], r["subject_bytes"], r["total_bytes"], r["subject_in_top"]) == (2, 2_000_000, 6_000_000, True)
    (r,) = fav_mod.favourites(tmp_path / "run", uploader=1, at_s=30.0, top=1)
    assert not r["subject_in_top"]


def _load_forwarding():
    return _load_with_neighbours("forwarding")


def _load_with_neighbours(name):
    """A trace script that imports its neighbour favourites.py (run as python validation/traces/NAME.py)."""
    import sys
    sys.path.insert(0, str(ROOT / "validation" / "traces"))
    try:
        return _load(name)
    finally:
        sys.path.remove(str(ROOT / "validation" / "traces"))


def test_forwarding_by_hand(tmp_path):
    """The subject gets 32,768 B by 1 s, 300,000 by 2 s, 1,100,000 by 3 s from the seed: 64 KiB and
    256 KiB at 2 s, 1 MiB at 3 s. The first leecher joins at 5 s; the subject has sent it nothing by
    6 s and 1 MiB by 7 s. Between 10 and 20 s leecher 2 sends the subject 100 B of 400 (0.25, not its
    largest) and leecher 3 sends it 500 of 600 (its largest)."""
    fwd = _load_forwarding()
    rep = tmp_path / "run" / "replications" / "0000"
    rep.mkdir(parents=True)
    (rep / "peers.csv").write_text("peer,role,join_s\n0,subject,0.0\n1,seed,0.0\n2,leecher,5.0\n3,leecher,6.0\n")
    rows = ["t_s,local,remote,total_up_bytes,total_down_bytes"]
    rows += [f"{t},0,1,0,{got}" for t, got in ((1.0, 32768), (2.0, 300000), (3.0, 1100000))]
    rows += ["6.0,0,2,0,0", "7.0,0,2,1048576,0", "8.0,0,2,9000000,0"]
    rows += ["10.0,2,0,0,0", "20.0,2,0,100,0", "10.0,2,3,0,0", "20.0,2,3,300,0",
             "10.0,3,0,0,0", "20.0,3,0,500,0", "10.0,3,2,0,0", "20.0,3,2,100,0", "30.0,3,0,99999,0"]
    (rep / "connections.csv").write_text("\n".join(rows) + "\n")
    m = fwd.measure(rep, [1.0, 2.0], (10.0, 20.0))
    assert m["start"] == [2.0, 2.0, 3.0]
    assert m["ramp"] == [0.0, 1.0]
    assert sorted(round(x, 4) for x in m["shares"]) == [0.25, 0.8333]
    assert m["top"] == 1
    # a replication without a trace is skipped, and a directory that is not a run is refused
    (tmp_path / "run" / "replications" / "0001").mkdir()
    assert fwd.measure(tmp_path / "run" / "replications" / "0001", [1.0], (10.0, 20.0)) is None
    import pytest
    with pytest.raises(SystemExit) as e:
        fwd.main([str(tmp_path / "nope")])
    assert e.value.code == 2


def test_lead_by_hand(tmp_path):
    """Peer 2 completes at 20 s, peer 3 at 40 s, peer 4 never. The subject sent peer 2 100 B at
    18 s (lead 2 s) and 300 B at 10 s (10 s), peer 3 600 B at 38 s (2 s), peer 4 1,000 B (no lead):
    by bytes, 900 of 1,000 B with a lead of 2 s, so the median lead is 2 s and 30 % came more than
    5 s early; the subject's upload is 2,000 B."""
    import sys
    sys.path.insert(0, str(ROOT / "validation" / "traces"))
    try:
        spec = importlib.util.spec_from_file_location("traces_lead", ROOT / "validation" / "traces" / "lead.py")
        lead = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(lead)
    finally:
        sys.path.remove(str(ROOT / "validation" / "traces"))
    rep = tmp_path / "run" / "replications" / "0000"
    rep.mkdir(parents=True)
    (rep / "peers.csv").write_text("peer,role,join_s,complete_s\n0,subject,0,50\n2,leecher,0,20\n3,leecher,0,40\n4,leecher,0,\n")
    (rep / "transfer_log.csv").write_text("t_s,peer,piece,first_block,blocks,bytes\n"
                                          "18,2,0,0,1,100\n10,2,1,0,1,300\n38,3,2,0,1,600\n5,4,3,0,1,1000\n")
    x, w, total = lead.leads(rep)
    assert total == 2000 and sorted(zip(x.tolist(), w.tolist())) == [(2.0, 100.0), (2.0, 600.0), (10.0, 300.0)]
    assert lead.weighted_quantiles(x, w, [0.5, 0.75]) == [2.0, 10.0]
    assert w[x > lead.EARLY_S].sum() / w.sum() == 0.3


def _load(name):
    spec = importlib.util.spec_from_file_location(f"traces_{name}", ROOT / "validation" / "traces" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(header) + "\n" + "".join(",".join(str(x) for x in r) + "\n" for r in rows))


def test_swarm_pace_by_hand(tmp_path, capsys):
    """Lab medians 12 s (10, 12, 14), model 11.2 s (11.0, 11.4): -6.7 %, the model faster in 1 of 1."""
    mod = _load("swarm_pace")
    _csv(tmp_path / "rec" / "v99" / "results.csv", ["replication", mod.FIELD], [[0, 10], [1, 14], [2, 12]])
    _csv(tmp_path / "val" / "sim" / "v99" / "results.csv", ["replication", mod.FIELD], [[0, 11.0], [1, 11.4]])
    mod.main([str(tmp_path / "val"), "--recorded", str(tmp_path / "rec")])
    out = capsys.readouterr().out
    assert "v99 | 12.0 | 11.2, -6.7%" in out and "median error -6.7%; model faster in 1 of 1" in out


def _peer_log(path, rows):
    import gzip
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.write("t_s,remote_ip,remote_port,direction,event,detail\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")


def test_asked_lab_side_by_hand(tmp_path):
    """Three pieces of two blocks; the subject (127.9.0.2) joins at 10 s. The leecher asked for piece 0
    before, gets it by 10.5 s; the subject sends HAVE 1 at 10.2 s; the leecher asks another peer for
    piece 1 at 11.5 s. At +1 s: lacks 1 and 2, piece 2 not asked; the subject has 1 (lacked, not asked
    yet). At +2 s: piece 1 asked."""
    import json
    mod = _load("asked")
    rep = tmp_path / "run" / "replications" / "0000"
    _csv(rep / "peers.csv", ["peer", "role", "join_s"], [[0, "subject", 10.0], [1, "seed", 0.0], [2, "leecher", 0.0]])
    (rep / "raw").mkdir(parents=True)
    (rep / "raw" / "lab.json").write_text(json.dumps({"peers": [{"index": 0, "ip": "127.9.0.2"}, {"index": 1, "ip": "127.9.0.3"},
                                                               {"index": 2, "ip": "127.9.0.4"}]}))
    _peer_log(rep / "raw" / "peer-0002-peerlog.csv.gz", [
        (9.0, "127.9.0.3", 1, "==>", "REQUEST", "piece: 0 s: 0 l: 4000"),
        (9.0, "127.9.0.3", 1, "==>", "REQUEST", "piece: 0 s: 4000 l: 4000"),
        (9.5, "127.9.0.5", 3, "==>", "REQUEST", "piece: 0 s: 4000 l: 4000"),  # asked again elsewhere
        (10.1, "127.9.0.3", 1, "<==", "PIECE", "piece: 0 s: 0 l: 4000"),
        (10.2, "127.9.0.2", 2, "<==", "HAVE", "piece: 1"),
        (10.5, "127.9.0.3", 1, "<==", "PIECE", "piece: 0 s: 4000 l: 4000"),
        (11.5, "127.9.0.3", 1, "==>", "REQUEST", "piece: 1 s: 0 l: 4000"),
    ])
    again = []
    rows = mod.lab_rows(tmp_path / "run", 3, [2, 2, 2], 2, again)
    assert again == [1]
    assert rows[1] == [(2, 2, 1, 1)]
    assert rows[2] == [(2, 1, 1, 0)]


def test_runs_lab_side_by_hand(tmp_path):
    """Picks in whole-piece mode only (prefer_contiguous > 0), counted in whole pieces of 16 blocks."""
    mod = _load("runs")
    rep = tmp_path / "run" / "replications" / "0000"
    _csv(rep / "peers.csv", ["peer", "role"], [[0, "subject"], [1, "leecher"]])
    _peer_log(rep / "raw" / "peer-0001-peerlog.csv.gz", [
        (1.0, "127.9.0.3", 1, "***", "PIECE_PICKER", "prefer_contiguous: 0 picked: 4"),
        (1.1, "127.9.0.3", 1, "***", "PIECE_PICKER", "prefer_contiguous: 48 picked: 16"),
        (1.2, "127.9.0.3", 1, "***", "PIECE_PICKER", "prefer_contiguous: 48 picked: 40"),
        (1.3, "127.9.0.3", 1, "***", "PIECE_PICKER", "prefer_contiguous: 320 picked: 1"),
        (1.4, "127.9.0.3", 1, "***", "PIECE_PICKER", "dlq: 0 rqq: 0 target: 4 req: 4 endgame: 0"),
    ])
    assert mod.lab_picks(tmp_path / "run", 16) == {1: 1, 2: 1, 0: 1}


def test_leecher_upload_by_hand(tmp_path, capsys):
    """Leecher 2 (1,000 B/s limit) downloads from 0 to 10 s; two phases. To peer 3 it sends 500 B/s
    until 5 s, then nothing although peer 3 stays interested and unchoked (until 9 s); to the
    subject it sends 1,000 B in the second phase. Utilisation 2,500 / 5,000 and 1,000 / 5,000; idle
    while open: 0 of 5 samples, then 4 of 5 (peer 3 at 5-8 s; the subject's sample at 5 s grew).
    Peer 4 never completed: not counted."""
    mod = _load_with_neighbours("leecher_upload")
    rep = tmp_path / "run" / "replications" / "0000"
    _csv(rep / "peers.csv", ["peer", "role", "join_s", "complete_s", "upload_bps"],
         [[0, "subject", 0.0, 20.0, 9e9], [1, "seed", 0.0, "", 9e9], [2, "leecher", 0.0, 10.0, 1000.0],
          [4, "leecher", 0.0, "", 1000.0]])
    header = ["t_s", "local", "remote", "total_up_bytes", "choked", "remote_interested"]
    rows = [[t, 2, 3, 500 * min(t, 5), 0, 0 if t == 9 else 1] for t in range(11)]
    rows += [[5, 2, 0, 0, 0, 1], [10, 2, 0, 1000, 0, 1], [1, 4, 3, 0, 0, 1], [2, 4, 3, 9999, 0, 1]]
    _csv(rep / "connections.csv", header, rows)
    m = mod.measure(rep, 2)
    assert list(m["sent"]) == [2500.0, 1000.0] and list(m["cap"]) == [5000.0, 5000.0]
    assert list(m["open"]) == [5.0, 5.0] and list(m["idle"]) == [0.0, 4.0]
    mod.main([str(tmp_path / "run"), "--phases", "2"])
    out = capsys.readouterr().out
    assert "utilisation  0.50  0.20" in out and "idle open    0.00  0.80" in out
    import pytest
    with pytest.raises(SystemExit) as e:
        mod.main([str(tmp_path / "nope")])
    assert e.value.code == 2


def test_queues_by_hand(tmp_path, capsys):
    """Leecher 2, interested and unchoked: 10 then 30 blocks asked of the seed, 0 then 4 of leecher 3,
    2 of the subject. Choked, not interested, or not a leecher's samples are left out. A trace
    without queue lengths is refused."""
    mod = _load_with_neighbours("queues")
    rep = tmp_path / "run" / "replications" / "0000"
    _csv(rep / "peers.csv", ["peer", "role"], [[0, "subject"], [1, "seed"], [2, "leecher"], [3, "leecher"]])
    header = ["local", "remote", "interesting", "remote_choked", "download_queue_length"]
    rows = [[2, 1, 1, 0, 10], [2, 1, 1, 0, 30], [2, 3, 1, 0, 0], [2, 3, 1, 0, 4], [2, 0, 1, 0, 2],
            [2, 0, 1, 1, 99], [3, 2, 0, 0, 99], [1, 2, 1, 0, 99], [0, 2, 1, 0, 99]]
    _csv(rep / "connections.csv", header, rows)
    s = mod.summarise(tmp_path / "run", None)
    assert s["seed"] == {"samples": 2, "empty": 0.0, "quartiles": [15.0, 20.0, 25.0]}
    assert s["leecher"] == {"samples": 2, "empty": 0.5, "quartiles": [1.0, 2.0, 3.0]}
    assert s["subject"] == {"samples": 1, "empty": 0.0, "quartiles": [2.0, 2.0, 2.0]}
    mod.main([str(tmp_path / "run")])
    assert "nothing asked 50.0%; blocks asked, quartiles 1 / 2 / 3" in capsys.readouterr().out
    _csv(rep / "connections.csv", header, [[2, 1, 1, 0, ""]])
    import pytest
    with pytest.raises(SystemExit) as e:
        mod.main([str(tmp_path / "run")])
    assert "no download_queue_length" in str(e.value)


def _block_log(path, rows):
    """A lab block log as the recordings write it: four names in the header, five columns a row."""
    import gzip
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as fh:
        fh.write("t_s,peer_ip,piece,block\n")
        fh.writelines(f"{t},127.9.0.{to + 2},{piece},{b},6881\n" for t, to, piece, b in rows)


def test_late_joiner_first_pieces_by_hand(tmp_path):
    """Six pieces; peer 1 the seed, leechers 2 and 3 (both complete at 100 s), the subject 0. By
    10 s the seed has sent leecher 2 pieces 0-2 and leecher 3 pieces 0-1 (16 blocks each). The
    subject then starts piece 0 from leecher 2 at 31 s (nobody lacks it), piece 2 from leecher 2
    at 32 s (leecher 3 lacks it) and piece 5 from the seed at 33 s (both lack it), one block each,
    so all three are first pieces: 2 of 3 lacked. A uniform pick among what the sender held and
    the subject had not started half a second before: 1/3 (of 0, 1, 2), 1/2 (of 1, 2), 3/4 (of
    1, 3, 4, 5). The walk from each of the six starts to the next such piece: 1/6 (piece 2 only
    from start 2), 1/6 (piece 2 only from start 2), 4/6 (pieces 3, 4, 5 from starts 2-5).
    Leecher completion: first, median and last 100 s."""
    mod = _load("late_joiner")
    rec = tmp_path / "rec"
    rep = rec / "replications" / "0000"
    rep.mkdir(parents=True)  # the recording's scenario: its torrent (here 6 pieces of 16 blocks)
    scenario = (ROOT / "validation" / "v04-late-join.toml").read_text()
    assert 'total_size = "24MiB"' in scenario
    (rec / "scenario.toml").write_text(scenario.replace('total_size = "24MiB"', 'total_size = "1536KiB"'))
    _csv(rep / "peers.csv", ["peer", "role", "complete_s"],
         [[0, "subject", ""], [1, "seed", ""], [2, "leecher", 100], [3, "leecher", 100]])
    seed_rows = [(1 + p, 2, p, b) for p in (0, 1, 2) for b in range(16)]
    seed_rows += [(5 + p, 3, p, b) for p in (0, 1) for b in range(16)]
    seed_rows += [(33, 0, 5, 0)]
    _block_log(rep / "blocks" / "peer-0001-blocks.csv.gz", seed_rows)
    _block_log(rep / "blocks" / "peer-0002-blocks.csv.gz", [(31, 0, 0, 0), (32, 0, 2, 0)])
    picks, share, uniform, walk = mod.first_pieces(mod.lab_logs(rec), 30, 50, lab=True)
    assert picks == 3 and abs(share - 2 / 3) < 1e-12
    assert uniform == [1 / 3, 1 / 2, 3 / 4]
    assert [round(x * 6) for x in walk] == [1, 1, 4]
    assert mod.pace(mod.lab_logs(rec)) == (100.0, 100.0, 100.0, 1)


def test_late_joiner_trade_by_hand(tmp_path):
    """Three pieces of 16 blocks; the subject 0, the seed 1, leecher 2. The seed sends the subject
    piece 0 at 1 s and piece 1 at 2 s, the leecher piece 0 at 3 s. At 5 s the subject holds 2
    pieces, one of them (1) lacked by the leecher; the leecher holds 1, which the subject has:
    means 1.5 held, 0.5 lacked by another. At 2.5 s: the subject 2 pieces, both lacked by the
    leecher; the leecher none: 1.0 and 1.0."""
    mod = _load("late_joiner")
    rec = tmp_path / "rec"
    rep = rec / "replications" / "0000"
    rep.mkdir(parents=True)
    scenario = (ROOT / "validation" / "v04-late-join.toml").read_text()
    (rec / "scenario.toml").write_text(scenario.replace('total_size = "24MiB"', 'total_size = "768KiB"'))
    _csv(rep / "peers.csv", ["peer", "role", "complete_s"], [[0, "subject", ""], [1, "seed", ""], [2, "leecher", ""]])
    rows = [(1 + p, 0, p, b) for p in (0, 1) for b in range(16)] + [(3, 2, 0, b) for b in range(16)]
    _block_log(rep / "blocks" / "peer-0001-blocks.csv.gz", rows)
    assert mod.trade(mod.lab_logs(rec), [5.0, 2.5]) == {5.0: (1.5, 0.5), 2.5: (1.0, 1.0)}


def test_choked_by_hand(tmp_path, capsys):
    """Uploader 0, samples a second apart. Peer 1: choked for its first three samples (1,000 B sent
    between the 2nd and 3rd: before its first unchoke), unchoked (5,000 B), choked again at 5 s:
    300 B by 6 s (after a choke, within 2 s), 700 B by 9 s (later). Peer 2 never choked (2,000 B).
    Sent 9,000 B: 1,000 + 300 + 700 = 2,000 choked, 22.2 %."""
    mod = _load("choked")
    header = ["t_s", "local", "remote", "total_up_bytes", "choked", "optimistic_unchoke", "remote_interested"]
    up1 = [0, 0, 1000, 6000, 6000, 6000, 6300, 6300, 6300, 7000]
    ch1 = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]
    rows = [[t, 0, 1, up1[t], ch1[t], 0, 1] for t in range(10)]
    rows += [[t, 0, 2, 200 * t + 200, 0, 0, 1] for t in range(10)]
    rows += [[t, 1, 0, 99999, 1, 0, 1] for t in range(10)]  # another uploader's rows: left out
    path = tmp_path / "c.csv"
    _csv(path, header, rows)
    m = mod.measure(path, 0, 2.0)
    assert m == {"before_first_unchoke": 1000, "after_choke": 300, "later": 700, "sent": 9000}
    assert mod.main(["0", str(path), str(path)]) == 0
    out = capsys.readouterr().out
    assert "| median of 2 | 0.01 MB |" in out and "22.2% |" in out
    import pytest
    with pytest.raises(SystemExit) as e:
        mod.main(["0", str(tmp_path / "nope")])
    assert "no such file" in str(e.value)
    _csv(path, header, [[0, 0, 1, "lots", 1, 0, 1]])
    with pytest.raises(SystemExit) as e:
        mod.main(["0", str(path)])
    assert str(e.value).startswith(f"{path}: ") and "lots" in str(e.value)
    _csv(path, ["t_s", "local", "remote"], [[0, 0, 1]])
    with pytest.raises(SystemExit) as e:
        mod.main(["0", str(path)])
    assert str(path) in str(e.value) and "total_up_bytes" in str(e.value)


def test_collect_adds_runs_to_a_recording(tmp_path, capsys):
    """Two replications collected as runs 0-1, then the same run directory added as runs 2-3 with
    --first-run 2 --append: four rows, in run order, the first two written back byte for byte;
    the files named by run; collected again as runs 2-3, the rows are replaced, not doubled."""
    import shutil
    from tests.test_cli_trace import make_run
    run = make_run(tmp_path)
    shutil.copytree(run / "replications" / "0000", run / "replications" / "0001")
    mod = _load("collect")
    out = tmp_path / "traces"
    assert mod.main([f"one-slot:0:1:{run}", "--out", str(out)]) == 0
    first = (out / "table.csv").read_text().splitlines()
    assert [r.split(",")[:2] for r in first[1:]] == [["one-slot", "0"], ["one-slot", "1"]]
    capsys.readouterr()
    for _ in range(2):
        assert mod.main([f"one-slot:0:1:{run}", "--out", str(out), "--first-run", "2", "--append"]) == 0
    printed = capsys.readouterr().out
    table = (out / "table.csv").read_text().splitlines()
    assert table[:3] == first
    assert [r.split(",")[:2] for r in table[1:]] == [["one-slot", str(i)] for i in range(4)]
    assert table[3].split(",")[2:] == first[1].split(",")[2:]  # the same replication, the same numbers
    assert "| one-slot | 2 |" in printed and "| one-slot | 0 |" not in printed  # rows of this call only
    for i in range(4):
        assert (out / "one-slot" / f"r{i:04d}-u0000-connections.csv.gz").exists()
        assert (out / "one-slot" / f"trace-r{i:04d}-u0000-summary.md").exists()
    assert "replication 1" in (out / "one-slot" / "trace-r0003-u0000-summary.md").read_text()
    import pytest
    with pytest.raises(SystemExit):
        mod.main([f"one-slot:0:1:{run}", "--out", str(out), "--first-run", "-1"])
