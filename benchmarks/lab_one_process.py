"""A measurement, not part of the lab: the same swarm with every session in ONE Python process.

``python -m benchmarks.lab_one_process SCENARIO`` runs the scenario's run 0 (same plan, payload,
tracker and settings as ``leechsim lab``) with all libtorrent sessions driven by a single Python
loop, and prints the largest gap between two status samples of a peer, the seed's payload rate
and the CPU time used. It exists to answer "does the GIL spoil the measurement if all peers share
one process?" with numbers (docs/lab.md). Completion policies are simplified: every downloader
pauses at completion.
"""
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import libtorrent as lt
import numpy as np

from sim.scenario import load_scenario
from sim.montecarlo import replication_seeds
from sim.layout import Layout
from forensics.lab.plan import plan_run
from forensics.lab.payload import write_payload, make_torrent, check_layout
from forensics.lab.tracker import Opentracker


def main(path: str) -> None:
    sc = load_scenario(path)
    plan = plan_run(sc, 0, replication_seeds(sc.simulation.seed, 1)[0], 150)
    layout = Layout.of(sc.torrent.piece_size, sc.torrent.file_sizes, sc.torrent.file_paths)
    work = Path(tempfile.mkdtemp(prefix='gilexp-'))
    try:
        write_payload(sc, work / 'seed', plan.payload_seed)
        tb = make_torrent(sc, work / 'seed', None); ih = check_layout(tb, layout); ti = lt.torrent_info(lt.bdecode(tb))
        with Opentracker(work, '127.150.255.1', ih) as tr:
            sess, handles, samples, done = [], {}, {p.index: [] for p in plan.peers}, {}
            for p in plan.peers:
                st = dict(p.settings); st['alert_mask'] = int(lt.alert_category.status | lt.alert_category.upload | lt.alert_category.error)
                s = lt.session(st); f = lt.ip_filter(); f.add_rule('0.0.0.0', '255.255.255.255', 1 << lt.session.global_peer_class_id); s.set_peer_class_filter(f)
                sess.append(s)
            time.sleep(0.5); t0 = time.time(); nblocks = 0; next_sample = 0.0
            down = {p.index for p in plan.peers if p.role != 1}
            while time.time() - t0 < 200 and not down <= set(done):
                now = time.time() - t0
                for p in plan.peers:
                    s = sess[p.index]
                    if p.index not in handles and now >= p.join_s:
                        a = lt.add_torrent_params(); a.ti = ti; a.trackers = [tr.announce_url]
                        a.save_path = str(work / 'seed') if p.role == 1 else str(work / f'p{p.index}')
                        a.flags = (a.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused) | (lt.torrent_flags.seed_mode if p.role == 1 else 0)
                        handles[p.index] = s.add_torrent(a)
                    for al in s.pop_alerts():
                        if isinstance(al, lt.block_uploaded_alert): nblocks += 1
                        elif isinstance(al, lt.torrent_finished_alert) and p.role != 1 and p.index not in done:
                            done[p.index] = now; handles[p.index].pause()
                if now >= next_sample:
                    for i, h in handles.items():
                        if i not in done:
                            st = h.status(); samples[i].append((time.time() - t0, st.total_payload_upload))
                    next_sample += 0.5
                time.sleep(0.1)
            ru = resource.getrusage(resource.RUSAGE_SELF)
            gaps = [b[0] - a[0] for v in samples.values() for a, b in zip(v, v[1:])]
            seed = np.array(samples[1]); first = min(done.values()); w = seed[(seed[:, 0] >= 2) & (seed[:, 0] <= first)]
            print(json.dumps({'peers': len(plan.peers), 'duration_s': max(done.values()), 'max_sample_gap_s': max(gaps),
                              'seed_payload_Bps': (w[-1, 1] - w[0, 1]) / (w[-1, 0] - w[0, 0]), 'cpu_s': ru.ru_utime + ru.ru_stime,
                              'subject_blocks': nblocks}))
            for s in sess: s.pause()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1])
