"""--phase attention: where each attention block looks, drawn over the images, as in the SAGAN paper's figure."""
import os

import numpy as np

from errors import UserError
from interrupts import replaced_atomically
from utils import to_uint8

GRID = 7  # the attention blocks work on 7x7 maps
CELL = 28 // GRID  # image pixels per map position
DEFAULT_QUERIES = [(1, 1), (1, 5), (3, 3), (5, 1), (5, 5)]
NEGLIGIBLE_GAMMA = 0.01
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
    """Mean entropy (nats) of the attention rows [B, N, N]; log N means uniform attention."""
    return float(-(beta * np.log(beta + 1e-12)).sum(-1).mean())


def query_maps(beta, queries):
    """[B, N, N] attention -> [B, Q, 28, 28]: each query's 7x7 map upsampled over its image."""
    rows = np.stack([beta[:, r * GRID + c] for r, c in queries], axis=1)  # [B, Q, 49]
    maps = rows.reshape(*rows.shape[:2], GRID, GRID)  # [B, Q, 7, 7]
    return np.kron(maps, np.ones((CELL, CELL)))  # [B, Q, 28, 28]


def draw(images, beta, queries, title, path):
    """Save a grid: each row an image, then one panel per query with its map over the image."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    maps = query_maps(beta, queries)
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


def show_attention(model, real_images, queries, log=print):
    """Draw G's maps on generated images and D's on real ones; report each block's entropy and gamma."""
    gammas = model.gamma_values()
    summary = {}
    for net, beta_tensor in model.attention_maps.items():
        if net == "generator":
            images, beta = model.sess.run([model.fake_images, beta_tensor], {model.z: model.sample_z(NUM_IMAGES)})
            images = to_uint8(images)
        else:
            images = real_images[:NUM_IMAGES]
            beta = model.sess.run(beta_tensor, {model.inputs: images / np.float32(255)})
        gamma = gammas["gamma_" + net[0]]
        entropy = mean_entropy(beta)
        path = os.path.join(model.out_dir("result"), f"attention_{net}.png")
        draw(images, beta, queries, f"{model.model_dir} {net}: gamma {gamma:.3f}, mean entropy {entropy:.2f} "
                                    f"nats (uniform {np.log(GRID * GRID):.2f})", path)
        note = " (gamma is about 0: this block barely changes its input)" if abs(gamma) < NEGLIGIBLE_GAMMA else ""
        log(f"{net} attention: gamma {gamma:.4f}, mean entropy {entropy:.3f} nats of {np.log(GRID * GRID):.3f}"
            f"{note}; {path}")
        summary[net] = {"gamma": gamma, "mean_entropy": entropy, "png": path}
    return summary



def draw_attention(model, real_images, queries=None, log=print):
    """Restore the latest checkpoint and draw its attention maps; a clear error for a model without any."""
    if not model.attention_maps:
        raise UserError(f"{model.model_name} has no attention blocks; use --gan_type SAGAN")
    model.restore_trained(log)
    return show_attention(model, real_images, queries or DEFAULT_QUERIES, log)
