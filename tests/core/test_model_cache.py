"""The compiled validator of the dataset model, cached between runs (issue 17, start-up).

Checked: a validator read back from the cache judges every reference document exactly as the
freshly built one does (same model, same errors), and the cache is only read from a private
place (owned by the user, writable by no one else, not a link); damage or a foreign file means
a rebuild, never a failure.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from mpistd.standard import model

ROOT = Path(__file__).resolve().parents[2]
VECTORS = sorted((ROOT / "reference_data" / "conformance").rglob("*.mpical.json"))
PROBE = ("import json,sys; from mpistd.standard import model, model_cache; "
         "m = model.parse_dataset(json.load(open(sys.argv[1]))); print(model_cache.source, m.dataset.id)")


def _verdict(validator, data):
    try:
        return "ok", validator.validate_python(data).model_dump(mode="json", by_alias=True)
    except ValidationError as exc:
        return "error", exc.errors(include_url=False, include_context=False)


def test_a_pickled_validator_judges_like_the_built_one():
    model.Dataset.model_rebuild(force=True)
    built = model.Dataset.__pydantic_validator__
    loaded = pickle.loads(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in VECTORS]
    assert len(docs) > 20
    for data in docs:
        assert _verdict(loaded, data) == _verdict(built, data)
    # and documents the schema refuses: an unknown key, a null, a bad id pattern
    base = json.loads((ROOT / "reference_data" / "conformance" / "clean.mpical.json").read_text(encoding="utf-8"))
    for broken in ({**base, "extra": 1}, {**base, "quantifications": None},
                   {**base, "tracers": [{**base["tracers"][0], "id": "bad id"}]}):
        verdict = _verdict(loaded, broken)
        assert verdict[0] == "error" and verdict == _verdict(built, broken)


def _probe(cache: Path, env_extra: dict | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MPISTD_NO_CACHE"}
    env.update({"MPISTD_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), **(env_extra or {})})
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "reference_data" / "conformance" / "clean.mpical.json")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[0]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="ownership checks are POSIX")
def test_written_privately_then_read_back(tmp_path):
    cache = tmp_path / "cache"
    assert _probe(cache) == "built"
    files = list(cache.glob("dataset-validator-*.pickle"))
    assert len(files) == 1 and (files[0].stat().st_mode & 0o777) == 0o600
    assert (cache.stat().st_mode & 0o077) == 0
    assert _probe(cache) == "cache"
    assert _probe(cache, {"MPISTD_NO_CACHE": "1"}) == "None"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="ownership checks are POSIX")
def test_foreign_damaged_or_linked_cache_files_are_not_read(tmp_path):
    cache = tmp_path / "cache"
    assert _probe(cache) == "built"
    (path,) = cache.glob("dataset-validator-*.pickle")
    good = path.read_bytes()
    path.chmod(0o666)  # writable by others: never unpickled
    assert _probe(cache) == "built"
    path.write_bytes(b"not a pickle")
    path.chmod(0o600)
    assert _probe(cache) == "built"  # damaged: rebuilt (and rewritten)
    assert _probe(cache) == "cache"
    target = tmp_path / "elsewhere.pickle"
    target.write_bytes(good)
    target.chmod(0o600)
    path.unlink()
    path.symlink_to(target)  # a link: not followed
    assert _probe(cache) == "built"
    assert path.is_file() and not path.is_symlink()  # the link was replaced by a fresh file
    os.chmod(cache, 0o777)  # a folder others may write to: neither read nor written
    try:
        assert _probe(cache) == "built"
        assert _probe(cache) == "built"
    finally:
        os.chmod(cache, 0o700)
