"""The builder: a photo folder -> the assets directory the bot and model.py load."""


class BuildError(Exception):
    """The assets directory cannot be built: too few celebrities, a bad catalog, a dead worker...

    Raised by any step of the build; build_embeddings.py reports it as one line and exit status 1.
    """
