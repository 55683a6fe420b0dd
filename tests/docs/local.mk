## tests/docs/
