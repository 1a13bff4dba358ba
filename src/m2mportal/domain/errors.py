"""Errors a caller sees, with the contract's error body (status name, message, errors)."""

from __future__ import annotations

from http import HTTPStatus


class ApiError(Exception):
    """An error answered with ``{"status", "message", "errors", "timestamp"}``."""

    def __init__(
        self,
        status_code: int,
        message: str,
        errors: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.errors = errors or []
        self.headers = headers or {}

    @property
    def status_name(self) -> str:
        return HTTPStatus(self.status_code).name


def bad_request(*errors: str, message: str = "Validation failed") -> ApiError:
    return ApiError(400, message, list(errors))


def not_found(what: str) -> ApiError:
    return ApiError(404, "Not found", [what])


def forbidden(reason: str, message: str = "Access denied") -> ApiError:
    return ApiError(403, message, [reason])


def unauthorized(reason: str) -> ApiError:
    return ApiError(
        401, "Unauthorized", [reason], {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def conflict(reason: str) -> ApiError:
    return ApiError(409, "Conflict", [reason])
