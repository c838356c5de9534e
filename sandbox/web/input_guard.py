"""Request input that no view should see: one place for every route.

* JSON bodies are parsed through :mod:`sandbox.safe_load`: nesting deeper than
  ``MAX_JSON_DEPTH`` answers 400 ``json_too_deep`` (before parsing, so never a
  RecursionError), a NUL character or a lone surrogate (``"\\ud800"``) in any string or
  key answers 400 ``invalid_text`` (no database column can store them; PostgreSQL
  refuses NUL, SQLite's driver cannot encode a lone surrogate).
* Form fields holding NUL answer 400 ``invalid_text`` (browsers decode form data with
  replacement characters, so lone surrogates cannot arrive that way).
* A NUL in the URL path is a 404 (no resource has such a name); query-string values have
  NUL removed (search and filter terms, where it means nothing).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Request, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from sandbox.safe_load import MAX_JSON_DEPTH, UnsafeInput, bad_text_reason, load_json


class _GuardedJson:
    """What ``Request.get_json`` parses with: depth and text checked."""

    @staticmethod
    def loads(data: str | bytes, **kwargs: Any) -> Any:
        return load_json(data, max_depth=MAX_JSON_DEPTH)

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)


class GuardedRequest(Request):
    """The app's request class: safe JSON parsing and NUL-free query strings."""

    @property
    def json_module(self) -> Any:  # type: ignore[override]
        return _GuardedJson

    @json_module.setter
    def json_module(self, _value: Any) -> None:
        # Flask assigns ``app.json`` to every new request; request bodies keep the guarded parser
        # (responses and the rest of the app still use ``app.json``).
        pass

    @property
    def args(self) -> MultiDict:  # type: ignore[override]
        cached = self.__dict__.get("_guarded_args")
        if cached is None:
            raw = Request.args.fget(self)  # type: ignore[attr-defined]
            if any("\x00" in k or "\x00" in v for k, v in raw.items(multi=True)):
                raw = self.parameter_storage_class(
                    (k.replace("\x00", ""), v.replace("\x00", "")) for k, v in raw.items(multi=True))
            cached = self.__dict__["_guarded_args"] = raw
        return cached


def _check_request_text() -> None:
    if "\x00" in request.path:
        raise NotFound()
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            key = key or ""  # werkzeug gives None for a multipart part whose name it cannot read
            reason = bad_text_reason(key) or bad_text_reason(value or "")
            if reason:
                raise UnsafeInput(f"表单字段 {key.replace(chr(0), '')} {reason}，请删除后重试。",
                                  code="invalid_text", field=key.replace("\x00", ""))


def init_input_guard(app: Flask) -> None:
    """Use the guarded request class and check form text before every view."""
    app.request_class = GuardedRequest
    app.before_request(_check_request_text)
