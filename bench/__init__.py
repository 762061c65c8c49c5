"""Benchmarks: each module ``bench/<name>.py`` has ``main(argv) -> int``; never timed tests."""
