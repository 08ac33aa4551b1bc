"""``metav1.Status`` bodies, worded like the API server's.

The grader tells "your cluster is wrong" from "I could not look" by the
status code and ``reason`` of these bodies, so they copy the real messages
(``pods "x" not found``, ``deployments.apps is forbidden: User ...``) and
field order (Go's json.Marshal of metav1.Status: kind, apiVersion, metadata,
status, message, reason, details, code; empty fields omitted).
"""
from __future__ import annotations

import json
from typing import Any

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status(code: int, message: str, reason: str | None = None, details: dict | None = None,
           metadata: dict | None = None) -> dict[str, Any]:
    """A full Status as the API server writes it in an HTTP response body."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": metadata or {},
                            "status": "Failure", "message": message,
                            "reason": reason if reason is not None else REASONS.get(code, "Unknown")}
    if details is not None:
        body["details"] = details
    body["code"] = code
    if not body["reason"]:
        del body["reason"]
    return body


def dumps(body: dict[str, Any]) -> bytes:
    """Compact JSON in insertion order, like Go's encoder (no spaces)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def resource_ref(group: str, plural: str) -> str:
    """``pods`` or ``deployments.apps``: how the server names a resource in messages."""
    return f"{plural}.{group}" if group else plural


def _details(group: str, plural: str, name: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = plural
    return details


def not_found(group: str, plural: str, name: str) -> dict[str, Any]:
    return status(404, f'{resource_ref(group, plural)} "{name}" not found', details=_details(group, plural, name))


def no_such_path() -> dict[str, Any]:
    """What the apiserver's NotFoundHandler writes for a path nothing serves
    (for example a group the cluster does not have)."""
    return status(404, "the server could not find the requested resource", details={})


def unauthorized() -> dict[str, Any]:
    return status(401, "Unauthorized")


def forbidden(user: str, verb: str, group: str, plural: str, namespace: str | None,
              name: str | None = None, subresource: str | None = None) -> dict[str, Any]:
    ref = resource_ref(group, plural)
    what = f'{ref} "{name}"' if name else ref
    res = f"{plural}/{subresource}" if subresource else plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = f'{what} is forbidden: User "{user}" cannot {verb} resource "{res}" in API group "{group}" {scope}'
    return status(403, message, details=_details(group, plural, name))


def method_not_allowed() -> dict[str, Any]:
    return status(405, "the server does not allow this method on the requested resource", details={})


def bad_request(message: str) -> dict[str, Any]:
    return status(400, message)


def too_many_requests(retry_after: int) -> dict[str, Any]:
    return status(429, "Too many requests, please try again later.", details={"retryAfterSeconds": retry_after})


def internal_error(message: str) -> dict[str, Any]:
    """apierrors.NewInternalError: the message is prefixed, the cause kept bare."""
    return status(500, f"Internal error occurred: {message}", details={"causes": [{"message": message}]})


def expired_continue(new_token: str) -> dict[str, Any]:
    return status(
        410,
        "The provided continue parameter is too old to display a consistent list result. You can start a new list "
        "without the continue parameter, or use the continue token in this response to retrieve the remainder of "
        "the results. Continuing with the provided token results in an inconsistent list - objects that were "
        "created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        metadata={"continue": new_token},
    )


def for_code(code: int, *, message: str | None = None, group: str = "", plural: str = "",
             name: str | None = None, retry_after: int = 1) -> dict[str, Any]:
    """A plausible Status for an injected fault, worded for the request it hits."""
    if message is None:
        if code == 401:
            return unauthorized()
        if code == 404 and plural and name:
            return not_found(group, plural, name)
        if code == 405:
            return method_not_allowed()
        if code == 429:
            return too_many_requests(retry_after)
        if code == 500:
            return internal_error("injected by the stand-in")
        message = {
            503: "the server is currently unable to handle the request",
            504: "the server was unable to return a response in the time allotted, but may still be processing the request",
        }.get(code, f"injected fault {code}")
    if code == 429:
        return status(429, message, details={"retryAfterSeconds": retry_after})
    return status(code, message)


class ApiError(Exception):
    """Raised inside the stand-in to answer a request with a Status body."""

    def __init__(self, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message", ""))
        self.body = body
        self.code = int(body.get("code", 500))
        self.headers = headers or {}
