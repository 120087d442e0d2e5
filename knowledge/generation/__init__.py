"""The pieces of ``python -m knowledge.generate``: one module per kind of generated file."""
