## tests/unit/
