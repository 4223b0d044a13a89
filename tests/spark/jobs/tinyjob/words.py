"""Shared helper of the tiny job: proves the package is importable under spark-submit."""


def parse_words(text: str) -> list[str]:
    return [word.strip().lower() for word in text.split(",") if word.strip()]
