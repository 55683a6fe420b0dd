## tests/stress/
