"""Pure analysis: dataclasses and functions on arrays, no I/O, no Qt."""
