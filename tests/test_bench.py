"""python -m bench: the FLOP count against the nets' own shapes, and a --quick run of every measurement."""
import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from bench import run as bench
from GAN import GAN
from SAGAN import SAGAN
from config import ModelConfig

tf1 = tf.compat.v1


@pytest.mark.parametrize("model_class", [GAN, SAGAN])
def test_forward_multiply_adds_follow_the_nets_weights(model_class):
    """Each weight is used once per output position of a conv, input position of a deconv, row of a matmul."""
    with tf.Graph().as_default():
        model = model_class(ModelConfig(gan_type=model_class.model_name))
        model.build_sampler(discriminator=True)  # both nets' weights, without a training step
        shapes = {v.op.name: v.shape.as_list() for v in tf1.trainable_variables()}
    positions = {"g_dc3": 7 * 7, "g_dc4": 14 * 14, "d_conv1": 14 * 14, "d_conv2": 7 * 7,
                 "f_conv": 7 * 7, "g_conv": 7 * 7, "h_conv": 7 * 7}
    counted = {"generator": 0, "discriminator": 0}
    for name, shape in shapes.items():
        net, *_, layer, kind = name.split("/")
        if kind in ("Matrix", "w"):
            counted[net] += int(np.prod(shape)) * positions.get(layer, 1)
    if model_class is SAGAN:  # g f^T and beta h: [49, 16] x [16, 49], then [49, 49] x [49, 128]
        for net in counted:
            counted[net] += 49 * 49 * 16 + 49 * 49 * 128
    macs = bench.forward_macs(model_class.model_name, 62)
    assert (macs["G"], macs["D"]) == (counted["generator"], counted["discriminator"])
    # The literal step runs G's forward pass once more than the default one.
    extra = bench.flops_per_image(model_class.model_name, 62, "literal") - \
        bench.flops_per_image(model_class.model_name, 62, "fused")
    assert extra == 2 * macs["G"]


@pytest.mark.subprocess
@pytest.mark.e2e
def test_quick_bench_measures_everything_and_writes_json(workdir, monkeypatch):
    here = os.path.dirname(os.path.abspath(__file__))
    monkeypatch.setattr(bench, "EPOCH_CHILD", [sys.executable, os.path.join(here, "bench_on_synthetic_data.py")])
    output = workdir / "bench.json"
    bench.main(["--quick", "--models", "GAN", "--output", str(output)])
    report = json.loads(output.read_text())
    assert report["quick"] and report["matmul_peak_gflops"]["float32"] > 0
    result = report["models"]["GAN"]
    assert set(result["training"]) == {"literal", "default", "bfloat16"}
    assert result["training"]["literal"]["speedup"] == 1.0
    assert all(row["images_per_second"] > 0 and row["gflops"] > 0 for row in result["training"].values())
    assert result["sampling_images_per_second"] > 0 and result["evaluation_seconds"] > 0
    epoch = result["epoch"]
    assert epoch["num_batches"] == 48 // 8 and epoch["epoch_seconds"] > 0 and epoch["peak_rss_mb"] > 100
    # The child trained for real, in a folder of its own that is gone, and reused the classifier.
    assert not (workdir / "results").exists()
    assert (workdir / "checkpoint" / "classifier_mnist").is_dir()
    table = bench.format_markdown(report)
    assert "| GAN | bfloat16 |" in table and "—" not in table
    recipe = result["recipe"]  # the recipe options' cost, timed in the same alternating blocks
    assert recipe["sn"]["images_per_second"] > 0 and recipe["paper"]["images_per_second"] > 0
    assert recipe["average_update"]["seconds"] > 0 and recipe["average_update"]["share_of_default_step"] > 0
    assert "| GAN |" in table.split("averaged G's")[1]
    # Spectral norm's cost is timed step against step; the reported share adds the average's update.
    sn_cost = recipe["sn_step_slowdown"]
    assert sn_cost["iterations"] == report["settings"]["sn_iterations"] and sn_cost["step_ms"]["sn"] > 0
    low, high = sn_cost["interval90"]
    assert low <= sn_cost["median"] <= high
    average_share = recipe["average_update"]["share_of_default_step"]
    assert recipe["sn_and_average_share"] == pytest.approx(sn_cost["median"] + average_share)
    assert recipe["sn_and_average_interval90"] == pytest.approx([low + average_share, high + average_share])
    assert "90% interval" in table

    scaling = result["scaling"]  # 1 device against 2 towers, from its own child process
    assert set(scaling["images_per_second"]) == {"one device", "2 towers", "2 towers, --sync_bn"}
    assert all(rate > 0 for rate in scaling["images_per_second"].values()) and scaling["gradient_sum_seconds"] >= 0
    assert "| GAN |" in table.split("the gradient sum")[1]
