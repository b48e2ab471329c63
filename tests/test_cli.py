"""main.py's command line: --help, and bad values rejected in one line with status 2."""
import os
import subprocess
import sys

import pytest

import main
from config import PAPER_RECIPE, ModelConfig
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
    ["--gan_type", "SAGAN", "--conditional", "--phase", "sample", "--digit", "10"],
    ["--gan_type", "SAGAN", "--conditional", "--phase", "sample", "--digit", "-1"],
    ["--gan_type", "SAGAN", "--conditional", "--phase", "sample", "--digit", "seven"],
    ["--gan_type", "SAGAN", "--phase", "sample", "--digit", "7"],  # an unconditional run has no digits to choose
    ["--gan_type", "SAGAN", "--conditional", "--digit", "7"],  # --digit is for sampling
]


def run_cli(*argv, cwd=ROOT):
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=600)  # against hanging only


@pytest.mark.parametrize("argv", BAD_ARGUMENTS, ids=" ".join)
def test_bad_arguments_get_one_line_and_status_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main.parse_args(argv)
    assert stop.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "error:" in err, err


@pytest.mark.subprocess
def test_a_bad_argument_from_the_shell_gets_one_line_and_status_2():
    result = run_cli("--gan_type", "SAGAN", "--epoch", "0")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip().splitlines() == ["main.py: error: argument --epoch: 0 is not in [1, 100000]"]


# Each flag --recipe paper sets, given explicitly with a value other than the preset's, and what it must give.
EXPLICIT = [(["--loss", "bce"], {"loss": "bce"}), (["--no-sn"], {"spectral_norm": False}),
            (["--attention", "article"], {"attention": "article"}), (["--lr_d", "3e-4"], {"lr_d": 3e-4}),
            (["--lr_g", "2e-4"], {"lr_g": 2e-4}), (["--beta1", "0.5"], {"beta1": 0.5}),
            (["--beta2", "0.99"], {"beta2": 0.99}),
            # --learning_rate stands for both rates, --g_lr_ratio for G's: given, they keep the presets off.
            (["--learning_rate", "1e-3"], {"d_learning_rate": 1e-3, "g_learning_rate": 5e-3}),
            (["--g_lr_ratio", "2"], {"d_learning_rate": 4e-4, "g_learning_rate": 4e-4})]


def test_the_recipe_covers_every_flag_tested_here():
    tested = {key for _, expected in EXPLICIT for key in expected} - {"d_learning_rate", "g_learning_rate"}
    assert tested == set(PAPER_RECIPE)


@pytest.mark.parametrize("flags, expected", EXPLICIT, ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_every_flag_given_explicitly_wins_over_the_recipe(flags, expected):
    model, _, _ = main.configs(main.parse_args(["--gan_type", "SAGAN", "--recipe", "paper", *flags]))
    assert {key: getattr(model, key) for key in expected} == pytest.approx(expected)
    preset = main.configs(main.parse_args(["--gan_type", "SAGAN", "--recipe", "paper"]))[0]
    untouched = [key for key in PAPER_RECIPE if key not in expected and not (
        key in ("lr_d", "lr_g") and {"d_learning_rate", "g_learning_rate"} & set(expected))]
    assert {key: getattr(model, key) for key in untouched} == {key: getattr(preset, key) for key in untouched}


def test_explicit_flags_are_found_by_argparse_whatever_their_spelling():
    parser = main.build_parser()
    dests = vars(main.parse_args(["--gan_type", "GAN"]))
    assert main.explicit_flags(parser, ["--no-sn", "--learning_rate=1e-3", "--beta1", "0.5"], dests) == \
        {"spectral_norm", "learning_rate", "beta1"}
    assert main.explicit_flags(parser, ["--gan_type", "GAN", "--epoch", "20"], dests) == {"gan_type", "epoch"}


def test_the_recipe_applies_where_nothing_is_given():
    model = main.configs(main.parse_args(["--gan_type", "SAGAN", "--recipe", "paper"]))[0]
    assert {key: getattr(model, key) for key in PAPER_RECIPE} == PAPER_RECIPE
    article = main.configs(main.parse_args(["--gan_type", "SAGAN"]))[0]
    assert article == ModelConfig("SAGAN")


def test_output_path_that_is_a_file_is_refused_and_kept(tmp_path, monkeypatch, capsys):
    (tmp_path / "results").write_text("my notes")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main.parse_args(["--gan_type", "GAN"])
    assert stop.value.code == 2 and "--result_dir results exists and is not a folder" in capsys.readouterr().err
    assert (tmp_path / "results").read_text() == "my notes"


def test_help_shows_every_flag_with_its_default():
    text = " ".join(main.build_parser().format_help().split("options:")[1].split())
    for flag, default in [("--epoch", "20"), ("--batch_size", "64"), ("--z_dim", "62"), ("--seed", "0"),
                          ("--checkpoint_dir", "checkpoint"), ("--result_dir", "results"),
                          ("--log_dir", "logs"), ("--data_dir", "data"), ("--learning_rate", "0.0002"),
                          ("--beta1", "0.5"), ("--save_every", "500"), ("--num_samples", "64")]:
        after_flag = text[text.index(f"{flag} {flag[2:].upper()} "):]
        assert after_flag[after_flag.index("(default: "):].startswith(f"(default: {default})"), flag


@pytest.mark.parametrize("status", [2, 3, 7])
def test_main_takes_each_exit_status_from_the_exception(monkeypatch, capsys, status):
    from common import errors

    class Refused(errors.UserError):
        exit_status = status

    def refuse(args, parallel, log=print):
        raise Refused("no, and here is what to do")
    monkeypatch.setattr(main, "run_phase", refuse)
    assert main.main(["--gan_type", "GAN"]) == status
    assert capsys.readouterr().err == "error: no, and here is what to do\n"


def test_the_literal_step_is_called_the_frameworks_not_the_articles():
    text = " ".join(main.build_parser().format_help().split("options:")[1].split())
    start = text.index("--train_step {")
    literal = text[start:text.index(" --", start + 2)]
    assert "framework's" in literal and "article's" not in literal


@pytest.mark.subprocess
def test_publishing_an_unfinished_run_gets_one_line_and_status_2_and_publishes_nothing(tmp_path):
    finished, unfinished = tmp_path / "GAN_mnist_64_62", tmp_path / "SAGAN_mnist_64_62"
    for folder in (finished, unfinished):
        folder.mkdir()
        for name in ("config.json", "train_log.csv"):
            (folder / name).write_text("{}")
    (finished / "metrics.json").write_text("{}")
    done = subprocess.run(["bash", os.path.join(ROOT, "scripts", "publish_run.sh"), "--to", str(tmp_path / "out"),
                           str(finished), str(unfinished)], capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "has no metrics.json" in done.stderr and not (tmp_path / "out").exists()
