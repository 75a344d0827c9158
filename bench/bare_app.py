"""The ceiling: a bare Flask endpoint that only reads the body and returns 202."""
from flask import Flask, request

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/hooks/forms/<source>")
def hook(source):
    request.get_data()
    return {"id": 0, "status": "accepted"}, 202
