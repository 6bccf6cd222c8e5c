"""Summary table of a scripts/crf-bench.sh run (its JSON lines file): per case and thread count our
full and temporal times, the peer's (densecrf) where present with peer / ours ratios, the 2-thread
scaling, and issue 13's speed goals met or not. Wall times are only meaningful on an idle machine:
every line carries /proc/loadavg, and CPU times (process CPU ms; / threads for a wall estimate) are
printed beside them. The "machine" lines (deeplab-machine-bench, before and after the cases) say how
much a second core added to memory bandwidth and to arithmetic at the time: the CRF's memory-bound
phases (splat, blur, loads) cannot scale past the first, its arithmetic past the second."""
import json
import sys

GOALS = [  # (size, crf scale, threads, what, limit ms)
    ("480x360", 1.0, 2, "temporal_ms_median", 40.0),
    ("1920x1080", 0.5, 2, "temporal_ms_median", 150.0),
]
MIN_SCALING = 1.8


def main(path):
    ours, peer, machine = {}, {}, []
    for line in open(path):
        row = json.loads(line)
        if row.get("kind") == "meta":
            print(f"commit {row['commit']}, {row['cpu']}, {row['cores']} cores, load at start {row['load']}")
            continue
        if row.get("kind") == "machine":
            machine.append(row)
            continue
        case = (row["size"], float(row["crf_scale"]))
        if "peer" in row:
            peer[case] = row
        else:
            ours[case + (row["threads"],)] = row
    print(f"{'size':>9} {'scale':>5} {'thr':>3} | {'full ms':>8} {'cpu':>8} | {'temporal':>8} {'cpu':>7} |"
          f" {'peer full':>9} {'cpu':>8} {'peer temp':>9} {'cpu':>8} | {'x full':>6} {'x temp':>6} (peer/ours, cpu) | load")
    for key in sorted(ours, key=lambda k: (k[0] != "480x360", k[1] != 1.0, k[0], k[1], k[2])):
        r, p = ours[key], peer.get(key[:2])
        line = (f"{key[0]:>9} {key[1]:>5.2f} {key[2]:>3} | {r['full_ms_median']:>8.1f} {r['full_cpu_ms_median']:>8.1f} |"
                f" {r['temporal_ms_median']:>8.1f} {r['temporal_cpu_ms_median']:>7.1f} |")
        if p:
            line += (f" {p['full_ms_median']:>9.1f} {p['full_cpu_ms_median']:>8.1f} {p['temporal_ms_median']:>9.1f}"
                     f" {p['temporal_cpu_ms_median']:>8.1f} | {p['full_cpu_ms_median'] / r['full_cpu_ms_median']:>6.1f}"
                     f" {p['temporal_cpu_ms_median'] / r['temporal_cpu_ms_median']:>6.1f}")
        else:
            line += f" {'':>38} | {'':>13}"
        print(line + f" | {r.get('load', '?')}")
    for m in machine:
        round_trip = m.get("core_round_trip_ns")  # absent in older files, 0 with one CPU
        print(f"machine {m.get('when', '')}: {m['threads']} threads at once against one alone: memory read"
              f" {m['read_scaling']:.2f}x ({m['read_gbps_alone']:.1f} GB/s alone), arithmetic"
              f" {m['arithmetic_scaling']:.2f}x"
              + (f"; a cache line from core to core and back {round_trip:.0f} ns" if round_trip else ""))
    print("goals (issue 13, wall time; met only if measured on an idle machine):")
    for size, scale, threads, what, limit in GOALS:
        r = ours.get((size, scale, threads))
        if r:
            got = r[what]
            cpu_estimate = r[what.replace("_ms", "_cpu_ms")] / threads
            print(f"  {size} crf-scale {scale} {threads} threads temporal frame <= {limit:.0f} ms: {got:.1f} ms"
                  f" ({'met' if got <= limit else 'not met'}; CPU time / threads {cpu_estimate:.1f} ms)")
    for (size, scale, threads), r in sorted(ours.items()):
        one = ours.get((size, scale, 1))
        if threads == 2 and one:
            full = one["full_ms_median"] / r["full_ms_median"]
            temporal = one["temporal_ms_median"] / r["temporal_ms_median"]
            print(f"  {size} crf-scale {scale}: 2 threads / 1 thread speed-up {full:.2f} full, {temporal:.2f} temporal"
                  f" (goal >= {MIN_SCALING}; CPU time 2 threads / 1 thread"
                  f" {r['full_cpu_ms_median'] / one['full_cpu_ms_median']:.2f})")


if __name__ == "__main__":
    main(sys.argv[1])
