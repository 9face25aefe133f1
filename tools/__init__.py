"""Repository tools (docs build, example data); not part of the installed package."""
