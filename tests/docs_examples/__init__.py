"""The code examples the docs show, included with ``literalinclude``: the suite runs what the reader reads."""
