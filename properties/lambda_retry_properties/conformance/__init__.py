"""The conformance kit: observed traces, trace validation, generated scenarios and peer adapters."""
