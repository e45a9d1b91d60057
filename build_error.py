"""The error of a gallery build that the user has to fix, shared by the build's modules.

build_embeddings.py reports it as one line and exit status 1, whichever step raised it.
"""


class BuildError(Exception):
    """The gallery cannot be built: too few celebrities, a bad catalog, a dead worker..."""
