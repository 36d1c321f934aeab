"""The local web app (``xdancer serve``)."""
