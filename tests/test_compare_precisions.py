"""scripts/compare_precisions.py: float32 against bfloat16 runs, from their metrics.json."""
import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "compare_precisions.py")


def fake_runs(result_dir, suffix, fcds):
    """Run folders as compare_seeds.sh leaves them, one per seed, with the given FCDs for both models."""
    for gan_type in ("GAN", "SAGAN"):
        for seed, fcd in enumerate(fcds):
            folder = os.path.join(result_dir, f"{gan_type}_mnist_64_62{f'_seed{seed}' if seed else ''}{suffix}")
            os.makedirs(folder)
            open(os.path.join(folder, "train_log.csv"), "w").write("step,epoch\n")
            json.dump({"model": {"fcd": fcd, "kid": 1.0 + seed, "classifier_score": 9.0}},
                      open(os.path.join(folder, "metrics.json"), "w"))


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def test_precisions_get_a_verdict_per_model_and_metric(tmp_path):
    fake_runs(tmp_path / "fp32", "", [10.0, 11.0, 12.0])
    fake_runs(tmp_path / "bf16", "_bf16", [30.0, 31.0, 32.0])
    fake_runs(tmp_path / "bf16", "", [0.0, 0.0, 0.0])  # float32 runs beside them are not read as bfloat16
    done = run(str(tmp_path / "fp32"), str(tmp_path / "bf16"))
    assert done.returncode == 0, done.stderr
    assert "| GAN | bfloat16 | 3 | 31 ± 1 |" in done.stdout
    assert done.stdout.count("FCD: float32 is better by 20") == 2
    assert done.stdout.count("KID: the difference (+0) is within the spread") == 2


def test_no_runs_is_a_one_line_error(tmp_path):
    done = run(str(tmp_path / "missing"), str(tmp_path / "missing too"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: no run with a metrics.json")
