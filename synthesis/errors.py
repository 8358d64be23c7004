"""Domain errors, mapped once per dialect to its status codes and error body."""
from __future__ import annotations


class TTSError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status


class InvalidInput(TTSError):
    status = 400
    code = "invalid_input"


class InvalidField(InvalidInput):
    """A field's value fails a check a serializer cannot make (text with nothing to speak, a name
    left blank): answered with the dialect's validation status, as a serializer's error is (422 in
    the FastAPI dialects, 400 in OpenAI's, Fish's and LightTTS's)."""


class TextTooLong(TTSError):
    status = 400
    code = "text_too_long"


class VoiceNotFound(TTSError):
    status = 404
    code = "voice_not_found"


class LanguageNotSupported(TTSError):
    """The voice cannot speak the text's language (or no voice can)."""

    status = 400
    code = "language_not_supported"


class VoiceUnusable(TTSError):
    """A voice made from audio or a blend could not speak its test phrase, so it was not saved."""

    status = 422
    code = "voice_unusable"


class NotFound(TTSError):
    status = 404
    code = "not_found"


class Conflict(TTSError):
    status = 409
    code = "conflict"


class PayloadTooLarge(TTSError):
    status = 413
    code = "payload_too_large"


class Unauthorized(TTSError):
    status = 401
    code = "invalid_api_key"


class EngineUnavailable(TTSError):
    status = 503
    code = "engine_unavailable"


class NotImplementedByEngine(TTSError):
    status = 501
    code = "not_implemented"


class RetryLater(TTSError):
    """A refusal the client may retry after `retry_after` seconds (sent as Retry-After)."""

    default_retry_after = 1

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = self.default_retry_after if retry_after is None else retry_after


class Overloaded(RetryLater):
    """Admission control: queued work is over the configured bound."""

    status = 503
    code = "overloaded"
    default_retry_after = 2


class Forbidden(TTSError):
    """The caller's key may not do this (a missing scope, a voice it does not own, a built-in voice)."""

    status = 403
    code = "forbidden"


class QuotaExceeded(RetryLater):
    """A key's requests per minute or characters per day are used up."""

    status = 429
    code = "quota_exceeded"
