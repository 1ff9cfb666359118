"""Simulators of panels and receivers, for tests, benchmarks and the demo."""
