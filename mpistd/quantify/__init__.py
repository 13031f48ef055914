"""Pure numerics: arrays in, small frozen dataclasses out. No files, no JSON, no findings, no rules."""
