"""Errors that the program reports to the user as a clear one-line message (exit status 2)."""


class FashionReviewError(Exception):
    """An error whose message is meant for the user: it says what went wrong and where."""


class DataError(FashionReviewError):
    """The catalog cannot be read (e.g. a required column is missing)."""


class ModelError(FashionReviewError):
    """A model file or registry entry cannot be used."""
