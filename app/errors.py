"""The service's exceptions, one tree with one handler at its root.

    RelayError                      500 internal_error
    ├── RequestRejected             4xx, the caller's request is refused as a whole
    │   ├── SignatureInvalid        401 signature_missing | signature_invalid |
    │   │                               timestamp_out_of_tolerance
    │   ├── BodyTooLarge            413 body_too_large
    │   ├── UnsupportedMediaType    415 unsupported_media_type | body_not_json |
    │   │                               unsupported_encoding
    │   ├── NotAWebhook             400 not_a_webhook
    │   ├── HandshakeRejected       400 challenge_missing | challenge_invalid |
    │   │                               mode_invalid; 403 verify_token_mismatch
    │   ├── NotFound                404 not_found | alert_not_found
    │   ├── MethodNotAllowed        405 method_not_allowed
    │   ├── Unauthenticated         401 key_missing | key_invalid
    │   ├── InvalidRequest          422 invalid_request | outcome_invalid |
    │   │                               idempotency_key_invalid
    │   └── Conflict                409 already_resolved | not_acknowledged |
    │                                   idempotency_key_reused | link_used
    ├── StoreUnavailable            503 store_unavailable (the partner retries)
    └── ConfigError                 raised at start-up; never reaches a response
    DeliveryError                   a notifier's failure; retryable or permanent

Every response error has the same body:
``{"error": {"code": ..., "message": ...}, "request_id": ...}``.
Messages are fixed strings: no input, secret or personal data is ever echoed.
"""

from __future__ import annotations


class RelayError(Exception):
    """Root of the service's errors. Unknown failures become this, as a 500."""

    status_code = 500
    code = "internal_error"
    message = "The service failed to handle the request."

    def __init__(self, message: str | None = None, *, code: str | None = None):
        super().__init__(message or self.message)
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code


class RequestRejected(RelayError):
    status_code = 400
    code = "bad_request"
    message = "The request was refused."


class SignatureInvalid(RequestRejected):
    status_code = 401
    code = "signature_invalid"
    message = "The signature does not match the body with any configured secret."


class BodyTooLarge(RequestRejected):
    status_code = 413
    code = "body_too_large"
    message = "The body is larger than the configured limit."


class UnsupportedMediaType(RequestRejected):
    status_code = 415
    code = "unsupported_media_type"
    message = "The body must be JSON (application/json)."


class NotAWebhook(RequestRejected):
    status_code = 400
    code = "not_a_webhook"
    message = "The JSON body is not a webhook envelope of this endpoint."


class HandshakeRejected(RequestRejected):
    status_code = 403
    code = "verify_token_mismatch"
    message = "The verify token does not match."

    def __init__(self, message: str | None = None, *, code: str | None = None):
        super().__init__(message, code=code)
        if code is not None and code != "verify_token_mismatch":
            self.status_code = 400


class NotFound(RequestRejected):
    status_code = 404
    code = "not_found"
    message = "Nothing is here."


class MethodNotAllowed(RequestRejected):
    status_code = 405
    code = "method_not_allowed"
    message = "This method is not allowed here."


class Unauthenticated(RequestRejected):
    status_code = 401
    code = "key_invalid"
    message = "The API key is missing, unknown or revoked."


class InvalidRequest(RequestRejected):
    status_code = 422
    code = "invalid_request"
    message = "The request's body or parameters are not valid."


class Conflict(RequestRejected):
    status_code = 409
    code = "conflict"
    message = "The alert is not in a state that allows this."


class StoreUnavailable(RelayError):
    status_code = 503
    code = "store_unavailable"
    message = "The event could not be stored; retry later."


class ConfigError(RelayError):
    """The settings or the control-room file are unusable; the service won't start."""

    code = "config_invalid"


class DeliveryError(Exception):
    """A notifier could not deliver a message.

    ``retryable`` says whether trying again later may succeed (timeouts, connection
    errors, 5xx, 429) or not (other 4xx, a bad configuration). ``reason`` is a short
    fixed code such as ``http_503`` or ``timeout``; it is stored and logged, so it
    never holds a URL, a number or anything from the alert.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        retry_after_s: float | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after_s = retry_after_s
