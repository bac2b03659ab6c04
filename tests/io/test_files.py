"""Save and load: npz without pickle, atomic writes, clear errors on bad files."""

import json
import os
import zipfile

import numpy as np
import pytest

import fastperceptron as fp


@pytest.fixture
def result(seed_data):
    X, y = seed_data
    return fp.train(X, y, models=6, iterations=100, bias=True, record_every=20, learning_rate=np.linspace(0.5, 1, 6),
                    backend="numpy")


def test_round_trip(result, tmp_path):
    path = result.save(tmp_path / "model.npz")
    back = fp.load(path)
    for name in ("weights", "bias", "seeds", "loss", "iterations", "history", "learning_rate"):
        np.testing.assert_array_equal(getattr(back, name), getattr(result, name))
        assert getattr(back, name).dtype == getattr(result, name).dtype
    for name in ("backend", "dtype", "seconds", "setup_seconds", "complete", "params"):
        assert getattr(back, name) == getattr(result, name)
    np.testing.assert_array_equal(back.predict_proba([1, 0, 0]), result.predict_proba([1, 0, 0]))


def test_round_trip_without_bias_float32(seed_data, tmp_path):
    X, y = seed_data
    r = fp.train(X, y, models=2, iterations=10, dtype="float32", backend="numpy")
    back = fp.load(r.save(tmp_path / "m.npz"))
    assert back.bias is None and back.history is None and back.weights.dtype == np.float32


def test_suffix_is_added_like_numpy(result, tmp_path):
    assert result.save(tmp_path / "model") == tmp_path / "model.npz"
    assert (tmp_path / "model.npz").is_file()


def test_loads_without_pickle(result, tmp_path):
    path = result.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(z["metadata"].tobytes())
        assert all(z[name].dtype != object for name in z.files)
    assert meta["format"] == "fastperceptron-model" and meta["format_version"] == 1
    assert meta["versions"]["fastperceptron"] == fp.__version__
    assert meta["params"]["rule"] == "seed"


def test_write_is_atomic(result, tmp_path, monkeypatch):
    path = result.save(tmp_path / "m.npz")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        result.save(path)
    assert path.read_bytes() == before  # the old model is intact
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file left behind


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at"):
        fp.load(tmp_path / "nope.npz")


def test_truncated_file(result, tmp_path):
    path = result.save(tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(fp.ModelFileError, match="is not a fastperceptron model file or is truncated/corrupt"):
        fp.load(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"hello, not a zip")
    with pytest.raises(fp.ModelFileError, match=r"not a fastperceptron model file \(a \.npz written by train --out or "
                                                r"result\.save\); it is not a \.npz archive"):
        fp.load(path)


def test_foreign_npz(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(fp.ModelFileError, match=r"not a fastperceptron model file: it has no 'metadata' entry"):
        fp.load(path)


def test_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, metadata=np.array([{"format": "fastperceptron-model"}], dtype=object))
    with pytest.raises(fp.ModelFileError, match="truncated/corrupt"):
        fp.load(path)


def _rewrite_metadata(path, change):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["metadata"].tobytes())
    change(meta)
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_newer_format(result, tmp_path):
    path = result.save(tmp_path / "m.npz")
    _rewrite_metadata(path, lambda m: m.update(format_version=4))
    with pytest.raises(fp.ModelFileError, match=r"model format 4 .* upgrade with pip install -U fastperceptron"):
        fp.load(path)


def test_wrong_format_name(result, tmp_path):
    path = result.save(tmp_path / "m.npz")
    _rewrite_metadata(path, lambda m: m.update(format="something-else"))
    with pytest.raises(fp.ModelFileError, match="do not name the format"):
        fp.load(path)


def test_inconsistent_arrays(result, tmp_path):
    path = result.save(tmp_path / "m.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["seeds"] = arrays["seeds"][:2]
    np.savez(path, **arrays)
    with pytest.raises(fp.ModelFileError, match="corrupt: array shapes disagree"):
        fp.load(path)


def test_missing_array(result, tmp_path):
    path = result.save(tmp_path / "m.npz")
    with zipfile.ZipFile(path) as zin:
        keep = {n: zin.read(n) for n in zin.namelist() if n != "loss.npy"}
    with zipfile.ZipFile(path, "w") as zout:
        for n, data in keep.items():
            zout.writestr(n, data)
    with pytest.raises(fp.ModelFileError, match=r"corrupt: missing arrays \['loss'\]"):
        fp.load(path)


def test_a_directory_is_refused(result, tmp_path):
    (tmp_path / "models").mkdir()
    with pytest.raises(IsADirectoryError, match=r"it is a directory; give a file name, e\.g\. .*model\.npz"):
        result.save(tmp_path / "models")
    assert os.listdir(tmp_path) == ["models"]  # no models.npz beside it


def test_a_missing_folder_names_the_users_path(result, tmp_path):
    target = tmp_path / "no" / "such" / "m.npz"
    with pytest.raises(FileNotFoundError) as err:
        result.save(target)
    message = str(err.value)
    assert f"cannot write {str(target)!r}: the folder {str(target.parent)!r} does not exist" in message
    assert "mkdir -p" in message and ".tmp" not in message


def test_leftovers_of_a_killed_save_are_cleared(result, tmp_path):
    """A save killed mid-write leaves .NAME.saving-XXXXXXXX.tmp; the next save to that name
    removes it (and leaves a fresh one, perhaps a concurrent save's, and other names' alone)."""
    stale = tmp_path / ".m.npz.saving-abcd1234.tmp"
    fresh = tmp_path / ".m.npz.saving-efgh5678.tmp"
    other = tmp_path / ".n.npz.saving-abcd1234.tmp"
    for f in (stale, fresh, other):
        f.write_bytes(b"partial")
    old = os.stat(stale).st_mtime - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    result.save(tmp_path / "m.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.npz", fresh.name, other.name])


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_saved_file_has_the_usual_permissions(result, tmp_path):
    """Not the temporary file's 0600: 0666 less the umask for a new file, the old mode when
    overwriting."""
    umask = os.umask(0o022)
    try:
        path = result.save(tmp_path / "m.npz")
        assert os.stat(path).st_mode & 0o777 == 0o644
        os.chmod(path, 0o640)
        result.save(path)
        assert os.stat(path).st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def _tamper(path, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    for name, value in changes.items():
        if value is None:
            arrays.pop(name)
        elif name == "metadata":
            arrays[name] = np.frombuffer(value.encode(), dtype=np.uint8)
        else:
            arrays[name] = value
    np.savez(path, **arrays)


def test_tampered_models_are_refused_naming_the_path(result, tmp_path):
    """fp.load checks the arrays' kinds, finite parameters, known stop reasons, sorted distinct labels,
    and reads malformed metadata as a ModelFileError naming the file (issue 22)."""
    import json

    path = result.save(tmp_path / "m.npz")
    with np.load(path) as z:
        meta = json.loads(z["metadata"].tobytes())
    cases = [
        (dict(weights=np.full(result.weights.shape, "x")), "'weights' holds <U1 values"),
        (dict(seeds=result.seeds.astype(float)), "'seeds' holds float64 values"),
        (dict(weights=np.full(result.weights.shape, np.nan)), "'weights' holds NaN or inf"),
        (dict(stop_reason=np.array(["converged", "tired"] * (len(result) // 2))), "unknown stop reasons ['tired']"),
        (dict(metadata=json.dumps({**meta, "params": "fast"})), "its metadata cannot be read (TypeError"),
        (dict(metadata=json.dumps({**meta, "seconds": "soon"})), "its metadata cannot be read (ValueError"),
        (dict(metadata=json.dumps({**meta, "min_rows": 2.5})), "its metadata cannot be read (TypeError"),
        (dict(metadata=json.dumps({**meta, "dtype": "int8"})), "dtype 'int8' is neither"),
        (dict(metadata=json.dumps({**meta, "complete": "yes"})), "'complete' must be true or false"),
    ]
    for changes, message in cases:
        result.save(path)
        _tamper(path, **changes)
        with pytest.raises(fp.ModelFileError) as info:
            fp.load(path)
        assert str(path) in str(info.value) and message in str(info.value), str(info.value)


def test_group_labels_must_be_sorted_and_distinct(tmp_path):
    X = np.random.default_rng(0).normal(size=(12, 2))
    r = fp.train(X, np.arange(12) % 2, groups=np.arange(12) % 3, iterations=2, progress=False)
    path = r.save(tmp_path / "g.npz")
    for labels in ([2, 1, 0], [0, 0, 2]):
        _tamper(path, groups=np.array(labels))
        with pytest.raises(fp.ModelFileError, match=r"its group labels are not sorted and distinct"):
            fp.load(path)
