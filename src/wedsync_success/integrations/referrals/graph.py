"""The referral network's metrics over whole arrays: SciPy sparse for degrees, reach and
PageRank, networkx only for the k-core.

Nodes are suppliers, numbered ``0..n-1``; an edge ``u -> v`` says ``u`` referred ``v`` and
``v`` signed up (a converted referral naming a known supplier). The graph is collapsed to a
simple graph first: a pair referred twice is one edge, a self-referral none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import numpy.typing as npt
from scipy import sparse

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DAMPING = 0.85
"""PageRank's damping factor (networkx's default)."""
PAGERANK_TOLERANCE = 1.0e-10
"""Iteration stops when the L1 change of the ranks falls below this times ``n``."""
PAGERANK_MAX_ITERATIONS = 200


@dataclass(frozen=True)
class NetworkMetrics:
    """One value per node for each metric, aligned with the node numbers."""

    out_degree: IntArray
    in_degree: IntArray
    reach: IntArray
    pagerank: FloatArray
    core: IntArray


def simple_adjacency(n: int, src: IntArray, dst: IntArray) -> sparse.csr_matrix:
    """The ``n x n`` 0/1 adjacency of the edges ``src -> dst``, without duplicates or loops."""
    keep = src != dst
    data = np.ones(int(keep.sum()), dtype=np.int8)
    adjacency = sparse.coo_matrix((data, (src[keep], dst[keep])), shape=(n, n)).tocsr()
    adjacency.sum_duplicates()
    adjacency.data[:] = 1
    return adjacency


def reach(adjacency: sparse.csr_matrix) -> IntArray:
    """How many other nodes each node reaches (its descendants), by growing every node's
    reached set one step at a time: the work is the total size of those sets times the
    out-degree, and the steps are the longest shortest path (a referral tree's depth)."""
    n = adjacency.shape[0]
    reached = adjacency.copy()
    frontier = adjacency.copy()
    while frontier.nnz:
        step = (frontier @ adjacency).tocsr()
        step.data[:] = 1
        new = (step - step.multiply(reached)).tocsr()
        new.eliminate_zeros()
        reached = (reached + new).tocsr()
        frontier = new
    reached.setdiag(0)  # a cycle back to itself does not make a node its own descendant
    reached.eliminate_zeros()
    return np.diff(reached.indptr).astype(np.int64) if n else np.zeros(0, dtype=np.int64)


def pagerank(adjacency: sparse.csr_matrix) -> FloatArray:
    """PageRank with credit flowing from each referee to its referrers (the graph reversed):
    a supplier ranks high when those it brought in bring in others. Dangling nodes (no
    referrer) spread their rank evenly, as networkx does."""
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    referrers = np.asarray(adjacency.sum(axis=0)).ravel().astype(np.float64)  # in-degree
    dangling = referrers == 0
    share = np.divide(1.0, referrers, out=np.zeros(n), where=~dangling)
    ranks = np.full(n, 1.0 / n)
    for _ in range(PAGERANK_MAX_ITERATIONS):
        spread = adjacency @ (ranks * share)
        new = DAMPING * (spread + ranks[dangling].sum() / n) + (1.0 - DAMPING) / n
        change = float(np.abs(new - ranks).sum())
        ranks = new
        if change < n * PAGERANK_TOLERANCE:
            break
    result: FloatArray = ranks / ranks.sum()
    return result


def core_numbers(adjacency: sparse.csr_matrix) -> IntArray:
    """Each node's k-core number in the undirected simple graph of the referrals."""
    n = adjacency.shape[0]
    undirected = sparse.triu(adjacency + adjacency.T, k=1).tocoo()
    graph: nx.Graph[int] = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(undirected.row.tolist(), undirected.col.tolist(), strict=True))
    cores = nx.core_number(graph)
    return np.fromiter((cores[i] for i in range(n)), dtype=np.int64, count=n)


def metrics(n: int, src: IntArray, dst: IntArray) -> NetworkMetrics:
    """Every metric of the network of ``n`` nodes with edges ``src -> dst``."""
    adjacency = simple_adjacency(n, src, dst)
    return NetworkMetrics(
        out_degree=np.diff(adjacency.indptr).astype(np.int64),
        in_degree=np.bincount(adjacency.indices, minlength=n).astype(np.int64),
        reach=reach(adjacency),
        pagerank=pagerank(adjacency),
        core=core_numbers(adjacency),
    )


def super_connectors(
    pagerank: FloatArray, converted: IntArray, *, top_share: float, min_converted: int
) -> BoolArray:
    """The rule: among the top ``top_share`` of the network by PageRank (at least one
    supplier, ties broken by node order), those with at least ``min_converted`` converted
    referrals."""
    n = pagerank.size
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    places = max(1, math.ceil(top_share * n))
    order = np.lexsort((np.arange(n), -pagerank))
    top = np.zeros(n, dtype=np.bool_)
    top[order[:places]] = True
    result: BoolArray = top & (converted >= min_converted)
    return result
