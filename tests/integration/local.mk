## tests/integration/
