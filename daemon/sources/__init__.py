"""Mail sources behind one small interface (see :mod:`offerwatch.daemon.sources.base`)."""
