"""Benchmarks of the CDS Hooks service: in-process latency, HTTP throughput, scaling and memory (`make bench`)."""
