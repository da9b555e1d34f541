"""lambda-retry-model: the executable reference semantics of AWS Lambda's retries and error handling."""

__version__ = "0.1.0"
