"""Error answers: JSON ``{"error": {"code", "message"}}`` under /api/, HTML pages elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from sandbox.errors import DomainError
from sandbox.web.security import is_api_request
from sandbox.web.tx import is_retryable

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: ("bad_request", "请求格式不正确。"),
    401: ("unauthenticated", "请先登录或提供有效的 API 令牌。"),
    403: ("forbidden", "您的角色无权访问此内容。"),
    404: ("not_found", "请求的内容不存在。"),
    405: ("method_not_allowed", "不支持该请求方法。"),
    409: ("conflict", "请求与当前状态冲突。"),
    413: ("payload_too_large", "提交的内容过大。"),
    429: ("too_many_requests", "操作过于频繁，请稍后再试。"),
    500: ("internal_error", "服务器内部错误，请稍后重试；如持续出现请联系管理员。"),
    503: ("service_unavailable", "服务暂时不可用，请稍后重试。"),
}


def error_response(status: int, code: str | None = None, message: str | None = None,
                   **details: object) -> Response:
    """Build the error answer for this request's kind (API or page)."""
    default_code, default_message = HTTP_CODES.get(status, ("error", "请求无法完成。"))
    code = code or default_code
    message = message or default_message
    if is_api_request():
        body = {"code": code, "message": message}
        body.update(details)
        response = jsonify({"error": body})
    else:
        response = Response(render_template("errors/error.html", status=status, code=code,
                                            message=message), mimetype="text/html")
    response.status_code = status
    return response


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        details = {k: v for k, v in exc.details.items()}
        return error_response(exc.status, exc.code, exc.message, **details)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return error_response(400, "csrf_failed", "表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。")

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError) -> Response:
        if not is_retryable(exc):
            return _unexpected(exc)  # "no such table", a syntax error...: a bug, not an outage
        # The database is unreachable or busy (PostgreSQL restarting, a lost connection,
        # SQLite locked past its timeout): a clear 503 the client may retry, not a 500.
        # The request's transaction was rolled back, so nothing is half-written.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        log.warning("database unavailable: %s", reason)
        response = error_response(503, "database_unavailable", "数据库暂时不可用，请稍后重试。")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return error_response(exc.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return _http(exc)
        log.exception("unhandled error", exc_info=exc)
        if app.config.get("PROPAGATE_UNEXPECTED"):
            raise exc
        return error_response(500)
