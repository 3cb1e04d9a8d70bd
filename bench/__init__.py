"""Benchmarks, run by hand (`make bench-history`, `make bench-load`, `make bench-cycle`); see bench/README.md."""
