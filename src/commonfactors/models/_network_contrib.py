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


def graph(K_by_design: dict, ref: int):
    """(design labels, G, Wd, ej, ek): G = K^+ with the reference's potential held at 0, Wd (designs, E) the
    designs' weights on the E edges j < k (ej, ek) that some design has."""
    labels = sorted(K_by_design)
    K = sum(K_by_design[lab] for lab in labels)
    T = K.shape[0]
    keep = [j for j in range(T) if j != ref]
    G = np.zeros((T, T))
    G[np.ix_(keep, keep)] = np.linalg.inv(K[np.ix_(keep, keep)])
    iu, ju = np.triu_indices(T, 1)
    Wd = np.array([-K_by_design[lab][iu, ju] for lab in labels])  # (designs, pairs)
    present = np.flatnonzero(np.any(np.abs(Wd) > 0, axis=0))
    return labels, G, Wd[:, present], iu[present], ju[present]


def hat_row(K_by_design: dict, ref: int, a: int, b: int):
    """The hat matrix's row of the network estimate a vs b: (labels, ej, ek, h), h (designs, E) the
    coefficient of each design's direct estimate of k vs j."""
    labels, G, Wd, ej, ek = graph(K_by_design, ref)
    pot = G[:, a] - G[:, b]
    return labels, ej, ek, Wd * (pot[ek] - pot[ej])[None, :]


def contributions(K_by_design: dict, names: list[str], ref: int, chunk: int = 256) -> list[dict]:
    """The percent contribution of each design to each network estimate ``treat1`` vs ``treat2`` (every
    pair of ``names`` in order), rows with a contribution above 0 only; ``chunk`` comparisons at a time."""
    T = len(names)
    labels, G, Wd, ej, ek = graph(K_by_design, ref)
    # the designs' parts of an edge's flow: |w_D| / sum |w_D| (the potential difference is common to them)
    absw = np.abs(Wd)
    part = absw / absw.sum(axis=0)
    w = Wd.sum(axis=0)
    pa, pb = np.triu_indices(T, 1)  # the comparisons a vs b
    out = []
    for lo in range(0, pa.size, chunk):
        a, b = pa[lo:lo + chunk], pb[lo:lo + chunk]
        pot = G[:, a] - G[:, b]  # (T, C): potentials p = K^+ (e_a - e_b)
        flow = w[None, :] * (pot[ek] - pot[ej]).T  # (C, E): the hat matrix's coefficient of each edge
        share = _streams(flow, ej, ek, sources=b, sinks=a, T=T)
        per_design = share @ part.T  # (C, designs)
        per_design /= per_design.sum(axis=1, keepdims=True)
        for c, i in zip(*np.nonzero(per_design > _EPS), strict=True):
            out.append({"treat1": names[a[c]], "treat2": names[b[c]],
                        "comparison": f"{names[a[c]]} vs {names[b[c]]}", "design": labels[i],
                        "percent": float(100.0 * per_design[c, i])})
    return out


def _streams(flow, ej, ek, *, sources, sinks, T: int) -> np.ndarray:
    """Each edge's share of the unit flow of each row of ``flow`` (C, E) from its source to its sink
    (Papakonstantinou et al. 2018), the C flows decomposed together, one stream each per round."""
    C, E = flow.shape
    rows = np.arange(C)
    F = np.zeros((C, T, T))  # remaining flow u -> v
    F[:, ej, ek] = np.where(flow > 0, flow, 0.0)
    F[:, ek, ej] = np.where(flow < 0, -flow, 0.0)
    tol = _EPS * np.maximum(F.reshape(C, -1).max(axis=1), 1.0)
    F[F <= tol[:, None, None]] = 0.0
    S = np.zeros((C, T, T))
    active = np.ones(C, dtype=bool)
    for _ in range(E * E + 1):
        # breadth-first layers from each source; best[c, v]: the largest stream of a shortest path to v
        best = np.zeros((C, T))
        best[rows, sources] = np.inf
        via = np.full((C, T), -1)
        seen = np.zeros((C, T), dtype=bool)
        seen[rows, sources] = True
        layer = seen.copy()
        found = np.zeros(C, dtype=bool)
        for _ in range(T):
            go = active & ~found & layer.any(axis=1)
            if not go.any():
                break
            cand = np.minimum(np.where(layer & go[:, None], best, 0.0)[:, :, None], F)  # (C, u, v)
            cand[np.broadcast_to(seen[:, None, :], cand.shape)] = 0.0
            arg = cand.argmax(axis=1)  # the first of equals: treatment order
            top = np.take_along_axis(cand, arg[:, None, :], axis=1)[:, 0, :]
            new = top > 0.0
            best = np.where(new, top, best)
            via = np.where(new, arg, via)
            seen |= new
            layer = new
            found |= seen[rows, sinks]
        active &= found
        if not active.any():
            break
        idx = np.flatnonzero(active)
        phi = best[idx, sinks[idx]]
        v = sinks[idx].copy()
        steps = []
        length = np.zeros(idx.size)
        for _ in range(T):
            m = v != sources[idx]
            if not m.any():
                break
            u = np.where(m, via[idx, v], v)
            steps.append((m, u, v))
            length += m
            v = u
        for m, u, v in steps:
            c, uu, vv = idx[m], u[m], v[m]
            F[c, uu, vv] -= phi[m]
            F[c, uu, vv] = np.where(F[c, uu, vv] <= tol[c], 0.0, F[c, uu, vv])
            S[c, uu, vv] += phi[m] / length[m]
    return S[:, ej, ek] + S[:, ek, ej]
