"""Graph failures as DeliveryError: what failed, whether to try again, and when."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from azure.core.exceptions import AzureError, ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from pep_model.m365 import DeliveryError

THROTTLED = frozenset({429, 503, 504})


def retry_after_seconds(
    headers: Mapping[str, str] | httpx.Headers | None, now: datetime | None = None
) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not headers:
        return None
    value = None
    for name, text in headers.items():
        if name.lower() == "retry-after":
            value = text.strip()
            break
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def from_status(
    status: int,
    message: str,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | httpx.Headers | None = None,
) -> DeliveryError:
    """429/503/504: retryable, with Retry-After; other 5xx: retryable; 4xx: not."""
    retryable = status in THROTTLED or status >= 500
    retry_after = retry_after_seconds(headers) if retryable else None
    return DeliveryError(
        message or f"Graph answered {status}",
        status=status,
        retryable=retryable,
        retry_after=retry_after,
        code=code,
    )


def _odata_parts(error: APIError) -> tuple[str | None, str]:
    if isinstance(error, ODataError) and error.error is not None:
        return error.error.code, error.error.message or ""
    return None, error.message or ""


def to_delivery_error(error: BaseException) -> DeliveryError:
    """Map what the SDK raised. Never includes our request body in the message."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, APIError):
        status = error.response_status_code or 0
        code, message = _odata_parts(error)
        headers: Any = error.response_headers
        if status == 0:
            return DeliveryError(message or "Graph gave no status", status=0, retryable=True)
        return from_status(status, message, code=code, headers=headers)
    if isinstance(error, httpx.TimeoutException):
        return DeliveryError(
            f"Graph did not answer in time ({type(error).__name__})", status=0, retryable=True
        )
    if isinstance(error, httpx.HTTPError):
        return DeliveryError(
            f"could not reach Graph ({type(error).__name__})", status=0, retryable=True
        )
    if isinstance(error, ClientAuthenticationError):
        return DeliveryError(
            f"could not get a Graph token: {error.message}",
            status=401,
            retryable=False,
            code="ClientAuthenticationError",
        )
    if isinstance(error, AzureError):
        return DeliveryError(
            f"could not get a Graph token ({type(error).__name__})", status=0, retryable=True
        )
    raise TypeError(f"not a Graph failure: {type(error).__name__}") from error


GRAPH_FAILURES: tuple[type[BaseException], ...] = (APIError, httpx.HTTPError, AzureError)
