"""The staff pages' own errors, and the HTTP status of every project error, chosen by the
exception's type (never by its words)."""

from __future__ import annotations

from knowledge.errors import ConflictError, DatabaseError, MotcuaError, NotFoundError, UsageError

PREFIX = "/admin"
LOGIN_PATH = f"{PREFIX}/login"


class AdminError(MotcuaError):
    """Raised by the staff pages themselves."""


class LoginRequired(AdminError):
    """Nobody is signed in (or the session ended): go to the login page."""

    def __init__(self) -> None:
        super().__init__("Cần đăng nhập.")


class Forbidden(AdminError):
    def __init__(self) -> None:
        super().__init__("Tài khoản của anh/chị không có quyền dùng chức năng này.")


class FormExpired(AdminError):
    """A form without the session's token: a stale page, another tab's login, or a forgery."""

    def __init__(self) -> None:
        super().__init__(
            "Trang này đã cũ hoặc phiên làm việc đã thay đổi, nên thao tác chưa được thực hiện. "
            "Hãy tải lại trang rồi làm lại."
        )


class UploadTooLarge(UsageError):
    pass


STATUS: dict[type[BaseException], int] = {
    LoginRequired: 303,
    Forbidden: 403,
    FormExpired: 403,
    UploadTooLarge: 413,
    NotFoundError: 404,
    ConflictError: 409,
    UsageError: 400,
    DatabaseError: 503,
    MotcuaError: 400,
}
"""HTTP status by exception type; the closest class in the exception's ancestry wins."""


def status_for(exc: BaseException) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500
