"""Entry point for `flask --app app ...` and gunicorn (`app:app`)."""

from odr import create_app

app = create_app()
