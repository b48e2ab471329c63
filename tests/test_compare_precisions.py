"""scripts/compare_precisions.py: float32 against bfloat16 runs, from their metrics.json."""
import importlib.util
import json
import os


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


def run(capsys, *args):
    """The script's main() in this process: (exit status, stdout, stderr)."""
    spec = importlib.util.spec_from_file_location("compare_precisions", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    try:
        script.main(list(args))
        status = 0
    except SystemExit as stop:
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def test_precisions_get_a_verdict_per_model_and_metric(tmp_path, capsys):
    fake_runs(tmp_path / "fp32", "", [10.0, 11.0, 12.0])
    fake_runs(tmp_path / "bf16", "_bf16", [30.0, 31.0, 32.0])
    fake_runs(tmp_path / "bf16", "", [0.0, 0.0, 0.0])  # float32 runs beside them are not read as bfloat16
    status, out, err = run(capsys, str(tmp_path / "fp32"), str(tmp_path / "bf16"))
    assert status == 0, err
    assert "| GAN | bfloat16 | 3 | 31 ± 1 |" in out
    assert out.count("FCD: float32 is better by 20") == 2
    assert out.count("KID: the difference (+0) is within the spread") == 2


def test_no_runs_is_a_one_line_error(tmp_path, capsys):
    status, _, err = run(capsys, str(tmp_path / "missing"), str(tmp_path / "missing too"))
    assert status == 2
    assert err.strip().splitlines() == [err.strip()] and err.startswith("error: no run with a metrics.json")
