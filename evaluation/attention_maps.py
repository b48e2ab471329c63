"""--phase attention: where each attention block looks, drawn over the images, as in the SAGAN paper's figure."""
import os

import numpy as np

from common.errors import UserError
from common.interrupts import replaced_atomically
from config import ATTENTION_SIDES
from training import checkpoints

GRID = ATTENTION_SIDES[0]  # queries are positions of the maps the article's blocks work on: 7x7
CELL = 28 // GRID  # image pixels per map position
DEFAULT_QUERIES = [(1, 1), (1, 5), (3, 3), (5, 1), (5, 5)]
NEGLIGIBLE_SHARE = 0.01  # a block whose gamma*o is under 1% of its input's norm
NUM_IMAGES = 6


def parse_queries(text):
    """'r,c;r,c' -> [(r, c), ...] on the 7x7 grid; raises ValueError with a readable reason."""
    queries = []
    for part in text.split(";"):
        row, col = (int(v) for v in part.split(","))
        if not (0 <= row < GRID and 0 <= col < GRID):
            raise ValueError(f"query {row},{col} is outside the {GRID}x{GRID} grid")
        queries.append((row, col))
    return queries


def mean_entropy(beta):
    """Mean entropy (nats) of the attention rows [B, N, M]; log M means uniform attention."""
    return float(-(beta * np.log(beta + 1e-12)).sum(-1).mean())


def query_maps(beta, queries, side=GRID):
    """[B, N, M] attention of a side x side map -> [B, Q, 28, 28]: each query's map over the keys, upsampled.

    Queries are positions of the 7x7 grid, scaled to the map's side; the keys form a square grid
    (side x side, or half that where the paper's block pooled them).
    """
    key_side = int(round(np.sqrt(beta.shape[-1])))
    rows = np.stack([beta[:, (r * side // GRID) * side + c * side // GRID] for r, c in queries], axis=1)  # [B, Q, M]
    maps = rows.reshape(*rows.shape[:2], key_side, key_side)  # [B, Q, key_side, key_side]
    return np.kron(maps, np.ones((28 // key_side, 28 // key_side)))  # [B, Q, 28, 28]


def draw(images, beta, queries, title, path, side=GRID):
    """Save a grid: each row an image, then one panel per query with its map over the image."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    maps = query_maps(beta, queries, side)
    fig, axes = plt.subplots(len(images), len(queries) + 1, figsize=(1.4 * (len(queries) + 1), 1.4 * len(images)),
                             squeeze=False)
    for i, image in enumerate(images):
        axes[i, 0].imshow(image[:, :, 0], cmap="gray", vmin=0, vmax=255)
        for q, (r, c) in enumerate(queries):
            ax = axes[i, q + 1]
            ax.imshow(image[:, :, 0], cmap="gray", vmin=0, vmax=255)
            ax.imshow(maps[i, q], cmap="inferno", alpha=0.6, vmin=0, vmax=maps[i, q].max())
            ax.plot(c * CELL + CELL / 2 - 0.5, r * CELL + CELL / 2 - 0.5, "o", color="cyan", markersize=4)
            if i == 0:
                ax.set_title(f"query {r},{c}", fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    with replaced_atomically(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


def show_attention(runner, result_dir, real_images, queries, weights="raw", log=print):
    """Draw G's maps on generated images and D's on real ones into result_dir; report each block's entropy, gamma
    and share.

    weights 'ema' (or ema_sigma<width>) draws that averaged G's maps on its own images; D has one set of weights.
    """
    summary = {}
    for (net, side), (images, beta, scale_value, share) in runner.attention_values(weights, NUM_IMAGES,
                                                                                   real_images).items():
        averaged = weights != "raw" and net == "generator"
        name = f"{net}{'' if side == ATTENTION_SIDES[0] else side}{'_' + weights if averaged else ''}"
        gamma = float(scale_value[0])
        entropy, uniform = mean_entropy(beta), np.log(beta.shape[-1])
        os.makedirs(result_dir, exist_ok=True)
        path = os.path.join(result_dir, f"attention_{name}.png")
        draw(images, beta, queries, f"{runner.model_dir} {name}: gamma {gamma:.3f}, mean entropy {entropy:.2f} "
                                    f"nats (uniform {uniform:.2f})", path, side)
        note = " (this block barely changes its input)" if share < NEGLIGIBLE_SHARE else ""
        log(f"{name} attention: gamma {gamma:.4f}, gamma*o is {100 * share:.1f}% of its input's norm, "
            f"mean entropy {entropy:.3f} nats of {uniform:.3f}{note}; {path}")
        summary[name] = {"gamma": gamma, "share": float(share), "mean_entropy": entropy, "png": path}
    return summary


def draw_attention(runner, folders, real_images, queries=None, weights="raw", log=print):
    """Restore the latest checkpoint and draw its attention maps into the run's results folder; a clear error for
    a model without any."""
    if not runner.model.attention_blocks:
        raise UserError(f"{runner.model_name} has no attention blocks; use --gan_type SAGAN")
    checkpoints.of_run(runner, folders).restore_trained(log)
    return show_attention(runner, folders.of("result", runner.model_dir), real_images, queries or DEFAULT_QUERIES,
                          weights, log)
