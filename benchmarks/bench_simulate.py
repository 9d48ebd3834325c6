"""Simulation studies: one million replications of a k = 20 REML meta-analysis with Knapp-Hartung intervals
(data generated, fitted and summarised by ``simulation_study``) vs metafor's ``rma(..., test = "knha")`` in
an R loop doing the same per replication (data generated, fitted, coverage counted), timed on 2,000
replications and scaled per replication; and the throughput of a Dask LocalCluster of 2 worker processes vs 1.

Target: >= 100x metafor per replication. The throughput of 2 workers over 1 is measured and reported, without
a pass/fail target (the issue asks how it grows, not by how much): each cluster is started beforehand, so the
start-up is not timed, and the machine's load (the 1-minute load average before and after, and the share of
the wall time the workers spent computing, from their CPU time) is recorded beside each measurement, so that
a gain held down by other processes on a shared machine is visible in the output.
"""

from __future__ import annotations

import os
import time

from _harness import Record, rscript, run_r

REPS, K, TAU2, EFFECT, SIZES = 1_000_000, 20, 0.1, 0.3, "20-200"
N_R = 2000
SCALING_REPS = 400_000
SEED = 20240603

#: the same condition in R: per replication, k studies of two groups of N//2 and N - N//2 (N uniform on
#: 20-200), Hedges' g and its escalc variance, rma REML with Knapp-Hartung, the CI's coverage counted
R_LOOP = """
suppressMessages(library(metafor))
set.seed(SEED)
k <- K; tau2 <- TAU2; mu <- EFFECT; reps <- NR
one <- function() {
  n <- sample(20:200, k, replace = TRUE); n1 <- n %/% 2; n2 <- n - n1
  theta <- rnorm(k, mu, sqrt(tau2))
  d <- rnorm(k, theta, sqrt(1 / n1 + 1 / n2)) / sqrt(rchisq(k, n - 2) / (n - 2))
  m <- n - 2; g <- exp(lgamma(m / 2) - 0.5 * log(m / 2) - lgamma((m - 1) / 2)) * d
  v <- 1 / n1 + 1 / n2 + g^2 / (2 * n)
  r <- try(rma(g, v, method = "REML", test = "knha"), silent = TRUE)
  if (inherits(r, "try-error")) NA else (r$ci.lb <= mu && mu <= r$ci.ub)
}
invisible(one())
t0 <- proc.time()[["elapsed"]]
covered <- vapply(seq_len(reps), function(i) one(), NA)
elapsed <- proc.time()[["elapsed"]] - t0
cat(sprintf("%.17g", elapsed / reps), mean(covered, na.rm = TRUE), sum(is.na(covered)), sep = "\\n")
"""


def _study(reps, **kw):
    from commonfactors.simulate import simulation_study

    return simulation_study(k=(K,), tau2=(TAU2,), effect=(EFFECT,), sizes=(SIZES,), reps=reps,
                            method=("REML",), test=("knha",), seed=SEED, progress=False, **kw)


def run() -> list[Record]:
    return [_vs_metafor(), _scaling()]


def _vs_metafor() -> Record:
    _study(2000)  # imports, first allocations
    t0 = time.perf_counter()
    res = _study(REPS)
    ours = (time.perf_counter() - t0) / REPS
    row = res.rows[0]
    rec = Record(name=f"simulation_study REML+KH per replication (k={K}, {REPS:,} reps)",
                 peer_name="metafor rma loop", target=100.0, ours=ours, unit="s/rep",
                 notes=[f"ours: {REPS:,} replications in {ours * REPS:.1f} s in one process "
                        f"({1 / ours:,.0f} per second); coverage {row['coverage']:.4f} "
                        f"(MC SE {row['coverage_mcse']:.4f}), {row['failures']} failures"])
    if rscript() is None:
        rec.skipped = "Rscript with metafor is not on PATH"
        return rec
    code = (R_LOOP.replace("SEED", str(SEED)).replace("NR", str(N_R)).replace("TAU2", str(TAU2))
            .replace("EFFECT", str(EFFECT)).replace("K;", f"{K};"))
    out = run_r(code).split()
    rec.peer = float(out[0])
    cov_r, failed = float(out[1]), int(out[2])
    se_r = (cov_r * (1 - cov_r) / N_R) ** 0.5
    rec.checks_ok = abs(cov_r - row["coverage"]) < 4 * (se_r ** 2 + row["coverage_mcse"] ** 2) ** 0.5
    rec.notes.append(f"metafor timed on {N_R:,} replications of the same condition, per replication; its "
                     f"coverage {cov_r:.4f} (MC SE {se_r:.4f}, {failed} failed fits) agrees with ours within "
                     f"4 combined MC SE: {rec.checks_ok}")
    return rec


def _scaling() -> Record:
    import logging

    from distributed import Client, LocalCluster

    def worker_cpu(client) -> float:
        """CPU seconds the cluster's worker processes have used so far."""
        def cpu():
            t = os.times()
            return t.user + t.system

        return sum(client.run(cpu).values())

    def throughput(n_workers):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
        with cluster, Client(cluster) as client:
            _study(20_000, scheduler=cluster.scheduler_address)  # workers import the package
            load = os.getloadavg()[0]
            cpu0 = worker_cpu(client)
            t0 = time.perf_counter()
            _study(SCALING_REPS, scheduler=cluster.scheduler_address)
            wall = time.perf_counter() - t0
            busy = (worker_cpu(client) - cpu0) / (wall * n_workers)
            return wall / SCALING_REPS, load, os.getloadavg()[0], busy

    one, load1, after1, busy1 = throughput(1)
    two, load2, after2, busy2 = throughput(2)
    notes = [f"1 worker: {1 / one:,.0f} replications/s, computing {100 * busy1:.0f}% of the wall time; "
             f"load average {load1:.1f} before, {after1:.1f} after",
             f"2 workers: {1 / two:,.0f} replications/s ({one / two:.2f}x 1 worker), each computing "
             f"{100 * busy2:.0f}% of the wall time; load average {load2:.1f} before, {after2:.1f} after",
             f"{os.cpu_count()} CPUs; blocks of 2,000 replications; measured, no target (a worker computing "
             "well below 100% waited for tasks or for a CPU other processes held)"]
    return Record(name=f"simulation_study on Dask, 2 workers vs 1 ({SCALING_REPS:,} reps)",
                  peer_name="1 worker", target=None, ours=two, peer=one, unit="s/rep", notes=notes)
