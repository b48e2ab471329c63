"""main.py's command line: --help, and bad values rejected in one line with status 2."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

BAD_ARGUMENTS = [
    ["--gan_type", "WGAN"],
    ["--gan_type", "SAGAN", "--dataset", "cifar10"],
    ["--gan_type", "SAGAN", "--epoch", "0"],
    ["--gan_type", "SAGAN", "--batch_size", "-4"],
    ["--gan_type", "SAGAN", "--batch_size", "many"],
    ["--gan_type", "SAGAN", "--batch_size", "100000"],
    ["--gan_type", "SAGAN", "--z_dim", "0"],
    ["--gan_type", "SAGAN", "--learning_rate", "0"],
    ["--gan_type", "SAGAN", "--learning_rate", "nan"],
    ["--gan_type", "SAGAN", "--beta1", "1.5"],
    ["--gan_type", "SAGAN", "--save_every", "0"],
    ["--gan_type", "SAGAN", "--num_samples", "99999999999"],
    ["--gan_type", "SAGAN", "--seed", "-1"],
    ["--gan_type", "SAGAN", "--phase", "dance"],
    ["--gan_type", "SAGAN", "--phase", "attention", "--queries", "7,0"],
    ["--gan_type", "SAGAN", "--phase", "attention", "--queries", "a;b"],
    ["--dataset", "mnist"],
    ["--gan_type", "SAGAN", "--sn_nets", "d"],  # spectral norm is off
]


def run_cli(*argv, cwd=ROOT):
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=600)  # against hanging only


@pytest.mark.parametrize("argv", BAD_ARGUMENTS, ids=" ".join)
def test_bad_arguments_get_one_line_and_status_2(argv):
    result = run_cli(*argv)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "error:" in result.stderr


def test_output_path_that_is_a_file_is_refused_and_kept(tmp_path):
    (tmp_path / "results").write_text("my notes")
    result = run_cli("--gan_type", "GAN", cwd=tmp_path)
    assert result.returncode == 2 and "--result_dir results exists and is not a folder" in result.stderr
    assert (tmp_path / "results").read_text() == "my notes"


def test_help_shows_every_flag_with_its_default():
    result = run_cli("--help")
    assert result.returncode == 0
    for flag, default in [("--epoch", "20"), ("--batch_size", "64"), ("--z_dim", "62"), ("--seed", "0"),
                          ("--checkpoint_dir", "checkpoint"), ("--result_dir", "results"),
                          ("--log_dir", "logs"), ("--data_dir", "data"), ("--learning_rate", "0.0002"),
                          ("--beta1", "0.5"), ("--save_every", "500"), ("--num_samples", "64")]:
        text = " ".join(result.stdout.split("options:")[1].split())
        after_flag = text[text.index(flag + " "):]
        assert after_flag[after_flag.index("(default: "):].startswith(f"(default: {default})"), flag
