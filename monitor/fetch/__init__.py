"""Fetching: one feed URL -> :class:`~monitor.models.FetchResult`, or :class:`FetchError`.

Owns everything HTTP and nothing else (no parsing, no scheduling): conditional GET, manual
redirects, the private-network (SSRF) policy, size and total-time caps, bounded content
decoding (gzip/deflate/brotli, so a compression bomb stops at the cap), Retry-After and cache
lifetimes, per-host and global concurrency limits, per-feed user agent, headers and proxy.

Modules, by responsibility:

- :mod:`.client`: :class:`Fetcher` (requests, redirects, caps, concurrency, error mapping);
- :mod:`.guard`: private-network policy, resolution, pinning connections to checked addresses;
- :mod:`.decompress`: streaming decompression (Content-Encoding) under the size cap;
- :mod:`.headers`: cache lifetime and ``Retry-After`` parsing.
"""

from __future__ import annotations

from .client import ACCEPT, Fetcher
from .guard import default_resolve
from .headers import cache_lifetime, retry_after

__all__ = ["ACCEPT", "Fetcher", "cache_lifetime", "default_resolve", "retry_after"]
