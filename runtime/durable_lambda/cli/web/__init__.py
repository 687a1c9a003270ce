"""The dev server's web view and HTTP API, as a WSGI application."""
