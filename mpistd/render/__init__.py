"""Renderers: text, JSON, SARIF, JUnit, HTML, PDF. Renderers never decide a verdict."""
