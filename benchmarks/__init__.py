"""Benchmarks at national scale (issue 7): a seeded generator of synthetic content and one runner.

Run them with ``python -m benchmarks.run`` (see docs/performance.md). Nothing here is imported by
the service; everything it generates is synthetic, marked so, and ``experimental: true``.
"""
