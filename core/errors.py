"""Every failure a user can cause or meet, as one typed family.

Each error carries two sentences: what is wrong, and what to do about it. The CLI prints
``str(error)`` on one line and exits with status 2; pages show it in an error box.
"""

from __future__ import annotations


class HitlensError(Exception):
    """An expected failure with a message meant for the user."""

    def __init__(self, problem: str, advice: str):
        super().__init__(problem, advice)
        self.problem = problem
        self.advice = advice

    def __str__(self) -> str:
        return f"{self.problem} {self.advice}"


class UsageError(HitlensError):
    """A bad option or argument."""


class CatalogMissing(HitlensError):
    """No catalog database exists yet."""


class AudioError(HitlensError):
    """A file that cannot become a model input."""


class UnsupportedFormat(AudioError):
    pass


class UnreadableAudio(AudioError):
    """Corrupt, truncated, or not audio at all (a text file renamed .mp3)."""


class AudioTooShort(AudioError):
    """Empty, or shorter than the minimum length."""


class AudioTooLong(AudioError):
    pass


class SilentAudio(AudioError):
    pass


class CollectError(HitlensError):
    """A data source refused, throttled or could not be reached. Pages already collected
    stay in the catalog; running the same command again resumes."""


class CredentialsMissing(CollectError):
    pass


class AccessDenied(CollectError):
    """Credentials rejected or revoked (401/403), or the app lacks a field the study needs."""


class RateLimited(CollectError):
    """The source asked to wait longer than is worth waiting in one run."""


class NetworkUnavailable(CollectError):
    pass


class Cancelled(Exception):
    """The user cancelled a long job. ``kept`` says what survives: by default nothing of
    the cancelled work (a training run); a collection keeps the pages it committed."""

    def __init__(self, message: str = "", kept: str = "nothing of this run was saved."):
        super().__init__(message)
        self.kept = kept


class PretrainedModelMissing(HitlensError):
    """musicnn's checkpoints are not installed, or a file of them is damaged."""
