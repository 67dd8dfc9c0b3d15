"""The two servers the API benchmark starts in processes of their own (fhirsnake runs from its own venv).

- ``harmonise DATABASE_URL PORT``: the service exactly as ``harmonise serve`` runs it
  (``service.api.create_app`` under uvicorn, one process), with the access log off (every server
  in the benchmark runs without one).
- ``bare RESPONSES PORT``: the limit: a FastAPI app whose endpoints, at the same paths, answer the
  bytes (and content type, ETag, Last-Modified) that Harmonise answered, recorded beforehand in
  ``RESPONSES`` (a pickle of path -> (status, headers, body)). Its handlers are plain ``def``
  functions, run in the thread pool, like Harmonise's, so the difference is only Harmonise's work.
"""

import pickle
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response


def bare_app(responses: dict[str, tuple[int, dict[str, str], bytes]]) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def answer(key: str) -> Response:
        found = responses.get(key)
        if found is None:
            return Response(status_code=404)
        status, headers, body = found
        return Response(body, status_code=status, headers=headers)

    @app.get("/fhir/{resource_type}/{resource_id}")
    def read(resource_type: str, resource_id: str, request: Request) -> Response:
        return answer(request.url.path)

    @app.get("/fhir/{resource_type}")
    def search(resource_type: str, request: Request) -> Response:
        return answer(f"{request.url.path}?{request.url.query}")

    return app


def main(argv: list[str]) -> None:
    kind, source, port = argv[0], argv[1], int(argv[2])
    if kind == "harmonise":
        from service.api import create_app  # noqa: PLC0415

        app = create_app(source)
    elif kind == "bare":
        app = bare_app(pickle.loads(Path(source).read_bytes()))
    else:
        raise SystemExit(f"unknown server {kind}")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
