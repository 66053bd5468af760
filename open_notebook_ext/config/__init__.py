"""OpenNotebookApp's settings, one traits mixin per area (set as ``c.OpenNotebookApp.*``)."""
