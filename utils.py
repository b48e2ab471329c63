"""Image helpers, as in the framework's utils.py: uint8 conversion, grids, the GIF over epochs, curves,
and the samples files of --phase sample."""
import os
import textwrap
import zipfile

import numpy as np

from common.interrupts import replaced_atomically


def to_uint8(images):
    """Floats in [0, 1] -> uint8 in [0, 255]."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def image_grid(images, columns=None):
    """uint8 [N, H, W, 1] -> one uint8 [rows*H, columns*W] picture, row-major."""
    n, h, w = images.shape[:3]
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.zeros((rows * h, columns * w), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = images[i, :, :, 0]
    return grid


def save_grid(images, path, columns=None):
    """Save uint8 images [N, H, W, 1] as a grid PNG, square-ish unless columns is given."""
    import imageio.v2 as imageio
    with replaced_atomically(path) as tmp:
        imageio.imwrite(tmp, image_grid(images, columns))


def save_gif(frame_paths, path, seconds_per_frame=0.5):
    """Animate PNG frames into a looping GIF."""
    import imageio.v2 as imageio
    frames = [imageio.imread(p) for p in frame_paths]
    with replaced_atomically(path) as tmp:
        imageio.mimsave(tmp, frames, duration=seconds_per_frame, loop=0)


PANEL_IMAGES = 36  # a 6x6 grid of each samples file in save_panels


def save_panels(named_images, path, per_panel=PANEL_IMAGES):
    """Save the first per_panel images of each (name, uint8 [N, H, W, 1]) as titled panels side by side in a PNG;
    for samples drawn from the same z, each position shows one z through every model."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(named_images), figsize=(2.6 * len(named_images), 2.9), squeeze=False)
    for ax, (name, images) in zip(axes[0], named_images):
        ax.imshow(image_grid(images[:per_panel]), cmap="gray", vmin=0, vmax=255)
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    with replaced_atomically(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


LEGEND_INSIDE_AT_MOST = 6  # more series than this and the legend goes beside the plot, off the curves


def plot_curves(columns, path, title, xlabel="step", log_y=False, styles=None, band=False, reference=None):
    """Plot {name: (x, y)} or {name: [(x, y), ...]} into a PNG; log_y for values that fall over decades, such as FCD.

    A name with several (x, y), one per seed, is drawn as their mean with a band from their minimum to their
    maximum when band is set, else as thin lines of one style under one legend entry. styles: {name: line keywords}.
    reference: (y, label) of a horizontal line to read the curves against, such as the floor.
    """
    plot_panels({"": columns}, path, title, xlabel, log_y, styles, band, reference)


def plot_panels(panels, path, title, xlabel="step", log_y=False, styles=None, band=False, reference=None):
    """plot_curves for {panel title: columns}: side by side on one y axis, so that a name drawn in several
    panels (a configuration's raw and averaged G) keeps its style and one legend entry."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    names = list(dict.fromkeys(name for columns in panels.values() for name in columns))
    beside = len(names) > LEGEND_INSIDE_AT_MOST or len(panels) > 1  # panels leave no room inside for it
    width = (7 if len(panels) == 1 else 5.5 * len(panels)) + (3 if beside else 0)
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 4), sharey=True, squeeze=False)
    legend = {}
    for ax, (panel, columns) in zip(axes[0], panels.items()):
        for name, series in columns.items():
            series = series if isinstance(series, list) else [series]
            style = dict(linewidth=1, **(styles or {}).get(name, {}))
            banded = band and len(series) > 1
            label = f"{name} (mean of {len(series)})" if banded else name
            if banded:
                x, ys = _aligned(series)
                (line,) = ax.plot(x, ys.mean(0), **style)
                ax.fill_between(x, ys.min(0), ys.max(0), color=line.get_color(), alpha=0.15, linewidth=0)
            else:
                for x, y in series:
                    (line,) = ax.plot(x, y, **style)
                    style["color"] = line.get_color()  # the other seeds of this name share its colour
            legend.setdefault(label, line)
        if reference is not None:
            legend[reference[1]] = ax.axhline(reference[0], color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # steps and epochs are whole
        if log_y:
            ax.set_yscale("log")
            ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(1.5, 2, 3, 5)))
            for axis in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):  # 2, 3, 5 rather than 2×10⁰
                axis(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}"))
        if panel:
            ax.set_title(panel, fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle("\n".join(textwrap.wrap(title, 100 if len(panels) > 1 else 80)), fontsize=10)
    if beside:
        axes[0][-1].legend(legend.values(), legend.keys(), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1),
                           borderaxespad=0)
    else:
        axes[0][-1].legend(legend.values(), legend.keys())
    fig.tight_layout()
    with replaced_atomically(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def _aligned(series):
    """(x, ys [runs, points]) over the longest prefix of x that every (x, y) in series shares."""
    length = min(len(x) for x, _ in series)
    first = np.asarray(series[0][0][:length])
    for x, _ in series[1:]:
        same = np.asarray(x[:length]) == first
        length = length if same.all() else int(np.argmin(same))
        first = first[:length]
    return first, np.array([y[:length] for _, y in series], dtype=float)


SAMPLES_KEY = "images"  # the uint8 [N, 28, 28, 1] array of a samples file


def save_samples(images, path, **about):
    """Write uint8 images to a compressed .npz (np.savez_compressed), with scalars saying where they came from
    (and a conditional model's labels array)."""
    with open(path, "wb") as f:
        np.savez_compressed(f, **{SAMPLES_KEY: images}, **{k: np.asarray(v) for k, v in about.items()})


def load_samples(path):
    """(uint8 images [N, 28, 28, 1], {name: value}) of a samples file; ValueError when it holds none."""
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):  # np.load would call anything else pickled data
        raise ValueError(f"{path} is not an .npz archive, or a damaged one")
    try:
        arrays = np.load(path, allow_pickle=False)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path} is a damaged .npz ({e})") from None
    with arrays:
        if SAMPLES_KEY not in arrays:
            raise ValueError(f"{path} has no '{SAMPLES_KEY}' array; it holds {sorted(arrays.files)}")
        images = arrays[SAMPLES_KEY]
        # Scalars say where the images came from; a conditional model's file also holds their labels [N].
        about = {k: arrays[k].item() if arrays[k].ndim == 0 else arrays[k] for k in arrays.files if k != SAMPLES_KEY}
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or images.shape[1:3] != (28, 28):
        raise ValueError(f"{path}: '{SAMPLES_KEY}' is {images.dtype} {images.shape}, not uint8 N x 28 x 28 (x 1)")
    return images.reshape(-1, 28, 28, 1), about


def show_all_variables(variables, log=print):
    """The framework's parameter listing at start-up: each trainable variable's name, shape and size, then the
    totals per net."""
    totals = {}
    for v in variables:
        shape = v.shape.as_list()
        size = int(np.prod(shape))
        totals[v.op.name.split("/")[0]] = totals.get(v.op.name.split("/")[0], 0) + size
        log(f"  {v.op.name:<48} {str(shape):<18} {size:>10,}")
    log("trainable parameters: " + ", ".join(f"{net} {count:,}" for net, count in totals.items()))
