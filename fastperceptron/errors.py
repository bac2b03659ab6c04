"""The exceptions fastperceptron raises beyond the usual ValueError and TypeError."""


class FastPerceptronError(Exception):
    """Base class of fastperceptron's own errors."""


class BackendUnavailableError(FastPerceptronError, RuntimeError):
    """A backend was asked for that cannot run here; the message says why and how to fix it."""


class ModelFileError(FastPerceptronError, ValueError):
    """A model file is truncated, corrupt, foreign or from a newer fastperceptron."""
