## tests/fuzz/
