"""The contribution of each design to each network estimate: the flow of evidence through the network and
its decomposition into streams (Papakonstantinou, T., Nikolakopoulou, A., Rücker, G., Chaimani, A.,
Schwarzer, G., Egger, M., & Salanti, G. (2018). Estimating the contribution of studies in network
meta-analysis: paths, flows and streams. F1000Research, 7, 610).

The fitted model (tau2 held at its estimate) is a weighted graph. Trial i with contrasts B_i beta (B_i its
d x T coding: +1 for an arm's treatment, -1 for the base arm) and W_i = (V_i + tau2 C_i)^{-1} gives
K_i = B_i' W_i B_i, a T x T matrix with zero row sums; the trials of a design D (its set of treatments) sum to
K_D, whose off-diagonal entries are the weights w_{D,jk} = -K_D[j, k] of the design's edges (every pair of
its arms: a multi-arm design is a complete graph, Rücker's reduced weights: Rücker, G. (2012). Network
meta-analysis, electrical networks and graph theory. Res. Synth. Methods, 3(4), 312-324). K = sum_D K_D is
the model's information on the treatment effects, with the reference's row and column dropped.

The network estimate of a vs b is a linear combination of the designs' direct estimates of their edges: the
row of the hat matrix, h_{D,jk} = w_{D,jk} (p_k - p_j) with potentials p = K^+ (e_a - e_b) (the electrical
analogy of Rücker 2012). Summed over the designs, the h on the edges are a flow of total 1 from b to a
(their divergence is e_a - e_b), acyclic (it runs down the potentials). Papakonstantinou et al. (2018)
decompose it into streams: repeatedly take a shortest path (fewest edges) from b to a through edges with
flow left, its stream phi the smallest flow on it, take phi off each edge, and give each of the path's
edges phi / (length of the path); the edges' shares add up to 1. Among paths of equal length the one with
the largest stream is taken (ties: treatment order), so the shares do not depend on the names of the
treatments. An edge's share is split among the designs that have it in proportion to their flow there,
|h_{D,jk}| (for trials with arm-level covariances all the designs' flows on an edge have one sign).
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def design_weights(groups, col, design_of, tau2: float, T: int) -> dict:
    """K_D (T x T) of each design label from the trials' contrasts (``groups`` as ``Contrasts.groups``);
    ``col`` maps a treatment code to its position, ``design_of`` a trial index to its design label."""
    out: dict = {}
    for d, g in groups.items():
        m = g["y"].shape[0]
        if m == 0:
            continue
        C = (np.eye(d) + np.ones((d, d))) / 2.0
        W = np.linalg.inv(g["V"] + tau2 * C)
        B = np.zeros((m, d, T))
        rows = np.arange(m)
        for j in range(d):
            B[rows, j, [col[int(t)] for t in g["treat"][:, j]]] += 1.0
            B[rows, j, [col[int(t)] for t in g["base"]]] -= 1.0
        K = np.einsum("mdj,mde,mek->mjk", B, W, B)
        for r in range(m):
            label = design_of[int(g["study"][r])]
            if label in out:
                out[label] = out[label] + K[r]
            else:
                out[label] = K[r].copy()
    return out


def contributions(K_by_design: dict, names: list[str], ref: int) -> list[dict]:
    """The percent contribution of each design to each network estimate ``treat1`` vs ``treat2`` (every
    pair of ``names`` in order), rows with a contribution above 0 only."""
    T = len(names)
    labels = sorted(K_by_design)
    K = sum(K_by_design[lab] for lab in labels)
    keep = [j for j in range(T) if j != ref]
    Kinv = np.linalg.inv(K[np.ix_(keep, keep)])
    # edges and each design's weight on them
    iu, ju = np.triu_indices(T, 1)
    Wd = np.array([-K_by_design[lab][iu, ju] for lab in labels])  # (designs, pairs)
    present = np.flatnonzero(np.any(np.abs(Wd) > 0, axis=0))
    ej, ek = iu[present], ju[present]
    Wd = Wd[:, present]
    out = []
    for a in range(T):
        for b in range(a + 1, T):
            lvec = np.zeros(T)
            lvec[a], lvec[b] = 1.0, -1.0
            p = np.zeros(T)
            p[keep] = Kinv @ lvec[keep]
            h = Wd * (p[ek] - p[ej])[None, :]  # (designs, edges): coefficient of each edge's k-vs-j estimate
            flow = h.sum(axis=0)
            share = _streams(flow, ej, ek, source=b, sink=a, T=T)
            absh = np.abs(h)
            tot = absh.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                part = np.where(tot > 0, absh / np.where(tot > 0, tot, 1.0), 0.0)
            per_design = part @ share
            total = per_design.sum()
            for i, lab in enumerate(labels):
                if per_design[i] > _EPS:
                    out.append({"treat1": names[a], "treat2": names[b],
                                "comparison": f"{names[a]} vs {names[b]}", "design": lab,
                                "percent": float(100.0 * per_design[i] / total)})
    return out


def _streams(flow, ej, ek, *, source: int, sink: int, T: int) -> np.ndarray:
    """Each edge's share of the unit flow from ``source`` to ``sink`` (Papakonstantinou et al. 2018)."""
    E = flow.shape[0]
    # directed edges along the flow: u -> v with remaining amount
    left = np.abs(flow).astype(float)
    u_of = np.where(flow > 0, ej, ek)
    v_of = np.where(flow > 0, ek, ej)
    out_edges = [[] for _ in range(T)]
    for e in range(E):
        out_edges[u_of[e]].append(e)
    share = np.zeros(E)
    scale = max(float(left.max(initial=0.0)), 1.0)
    for _ in range(E * E + 1):
        # breadth-first layers from the source through edges with flow left
        dist = np.full(T, -1)
        dist[source] = 0
        best = np.zeros(T)
        best[source] = np.inf
        via = np.full(T, -1)
        frontier = [source]
        while frontier and dist[sink] < 0:
            nxt = []
            for u in sorted(frontier):
                for e in out_edges[u]:
                    if left[e] <= _EPS * scale:
                        continue
                    v = v_of[e]
                    if dist[v] == -1:
                        dist[v] = dist[u] + 1
                        nxt.append(v)
                    if dist[v] == dist[u] + 1:
                        cand = min(best[u], left[e])
                        if cand > best[v] * (1 + 1e-12):
                            best[v], via[v] = cand, e
            frontier = nxt
        if dist[sink] < 0:
            break
        path = []
        v = sink
        while v != source:
            e = via[v]
            path.append(e)
            v = u_of[e]
        phi = min(left[e] for e in path)
        for e in path:
            left[e] -= phi
            share[e] += phi / len(path)
    return share
