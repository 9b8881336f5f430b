"""The app as uvicorn imports it (`insyn serve`), configured from the environment so that
every worker process builds the same app: INSYN_DATA_DIR and INSYN_SECURE_COOKIES."""

import os

from insyn.settings import Settings
from insyn.web.app import create_app

app = create_app(Settings(), secure_cookies=os.environ.get("INSYN_SECURE_COOKIES", "1") != "0")
