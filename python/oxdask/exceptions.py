"""Exceptions of oxdask (placeholder: the engine re-raises task errors unchanged)."""

__all__: list[str] = []
