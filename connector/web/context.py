"""Access to the app's runtime from views."""
from flask import current_app

from connector.core.runtime import Runtime


def current_runtime() -> Runtime:
    return current_app.extensions["leadwire"]
