"""The fetcher: famous people from Wikidata and their portraits from Wikimedia Commons -> a photo
folder with its catalog, which the builder (``lookalike.builder``) turns into an assets directory."""
