"""The comparison report: its rows of verdicts, and seeds drawn as a mean and a band over the steps they share."""
import json

import numpy as np
import pytest

from evaluation import report
import utils


def test_seed_bands_average_only_the_steps_every_seed_has():
    x, ys = utils._aligned([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2, 3, 4], [3.0, 4.0, 5.0, 6.0])])
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_array_equal(ys.mean(0), [2.0, 3.0, 4.0])
    x, ys = utils._aligned([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2, 5], [3.0, 4.0, 5.0])])  # logged at other steps
    np.testing.assert_array_equal(x, [1, 2])
    assert ys.shape == (2, 2)


def test_many_series_with_bands_and_seed_lines_are_drawn(tmp_path):
    columns = {f"run{i}": [([1, 2, 3], [3.0, 2.0, 1.0 + i]), ([1, 2, 3], [4.0, 3.0, 2.0])] for i in range(8)}
    columns["one seed"] = ([1, 2], [5.0, 4.0])
    for band in (True, False):
        path = tmp_path / f"band_{band}.png"
        utils.plot_curves(columns, str(path), "test", log_y=True, styles={"run0": {"linestyle": "--"}}, band=band)
        assert path.stat().st_size > 0
    path = tmp_path / "panels.png"  # one configuration in two panels: its raw and averaged G
    utils.plot_panels({"averaged G": columns, "raw G": {"run0": columns["run0"]}}, str(path), "test", band=True,
                      reference=(1.0, "the floor"))
    assert path.stat().st_size > 0


def fake_run(folder, fcd, fcd_ema):
    """A results folder with the logs and metrics.json a finished run leaves."""
    folder.mkdir()
    metrics = {key: 1.0 for key, _, _ in report.REPORTED}
    json.dump({"num_samples": 100, "real_floor": metrics, "model": {**metrics, "fcd": fcd},
               "model_ema": {**metrics, "fcd": fcd_ema}}, open(folder / "metrics.json", "w"))
    (folder / "steps.csv").write_text("step,d_loss,g_loss\n50,1.0,2.0\n100,0.9,2.1\n")
    (folder / "train_log.csv").write_text("step,epoch,d_loss,g_loss,seconds\n100,1,0.9,2.1,12.5\n")


def test_each_comparison_row_names_its_sides_in_the_order_of_its_difference(tmp_path):
    fake_run(tmp_path / "GAN", 30.0, 10.0)
    fake_run(tmp_path / "SAGAN", 25.0, 12.0)
    runs = {"GAN": {0: str(tmp_path / "GAN")}, "SAGAN": {0: str(tmp_path / "SAGAN")}}
    text = report.write_report(runs, [("attention against its control", "GAN", "SAGAN")],
                               {"GAN": (1, 2), "SAGAN": (3, 4)}, str(tmp_path / "report"), log=lambda *a: None)
    fcd = verdict_column(text, "FCD")
    assert fcd["SAGAN against GAN (attention against its control)", "raw"] == "-5: one seed"
    assert fcd["SAGAN: averaged G against raw", "ema against raw"] == "-13: one seed"
    assert not any("SAGAN against SAGAN" in name for name, _ in fcd)


def test_the_averaged_g_by_width_shows_each_width_over_seeds_and_bolds_the_lowest(tmp_path):
    runs = {}
    for seed, multiples in enumerate(((2.0, 1.9, 1.7, 2.2), (2.2, 2.1, 1.9, 2.4))):
        folder = tmp_path / f"GAN{seed}"
        fake_run(folder, 30.0, 10.0)
        metrics = json.loads((folder / "metrics.json").read_text())
        metrics["model_ema"]["fcd_multiple"] = multiples[0]
        for width, multiple in zip(("0.05", "0.1", "0.2"), multiples[1:]):
            metrics[f"model_ema_sigma{width}"] = {**metrics["model_ema"], "fcd_multiple": multiple}
        (folder / "metrics.json").write_text(json.dumps(metrics))
        runs.setdefault("GAN", {})[seed] = str(folder)
    fake_run(tmp_path / "SAGAN", 25.0, 12.0)  # measured no width: not in the section
    runs["SAGAN"] = {0: str(tmp_path / "SAGAN")}
    text = report.write_report(runs, [], {"GAN": (1, 2), "SAGAN": (3, 4)}, str(tmp_path / "report"),
                               log=lambda *a: None)
    section = text[text.index("## The averaged G by width"):text.index("## ", text.index("by width") + 1)]
    assert "| averaged G | σ 0.05 | σ 0.1 | σ 0.2 |" in section
    assert "| 2.100 ± 0.141 | 2.000 ± 0.141 | **1.800 ± 0.141** | 2.300 ± 0.141 |" in section
    assert "**GAN** (2 seeds)" in section and "SAGAN" not in section


def verdict_column(text, metric):
    """{(comparison, weights): cell} of one metric's column of the report's verdict table."""
    lines = text[text.index("## What the numbers say"):].splitlines()
    header = next(line for line in lines if line.startswith("| comparison |"))
    column = [c.strip() for c in header.strip("|").split("|")].index(metric)
    body = lines[lines.index(header) + 2:]
    body = body[:next((i for i, line in enumerate(body) if not line.startswith("|")), len(body))]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in body]
    return {(row[0], row[1]): row[column] for row in rows}


def test_a_difference_within_the_sampling_noise_is_called_so_whatever_the_seeds_say():
    tight = (10.0, 0.1, 3)
    assert "within the sampling noise" in report.verdict("FCD", True, tight, (10.5, 0.1, 3), noise=0.3)
    assert "better by 0.5" in report.verdict("FCD", True, tight, (10.5, 0.1, 3), noise=0.2)
    assert "better by 0.5" in report.verdict("FCD", True, tight, (10.5, 0.1, 3))  # runs without a spread
    one_seed = report.verdict("FCD", True, (10.0, 0.0, 1), (12.0, 0.0, 1), noise=0.5)
    assert "beyond the sampling noise" in one_seed and "no verdict" in one_seed
    assert report.verdict_cell(True, (10.0, 0.0, 1), (12.0, 0.0, 1), noise=0.5) == (
        "+2: one seed, beyond the sampling noise")
    assert report.verdict_cell(True, (10.0, 1.0, 3), (9.5, 0.4, 3)) == "-0.5: within the spread"
    assert report.verdict_cell(True, (10.0, 0.2, 3), (9.5, 0.4, 3), ("GAN", "SAGAN")) == "-0.5: **SAGAN better**"
    assert report.verdict_cell(False, (10.0, 0.2, 3), (9.5, 0.4, 3), ("GAN", "SAGAN")) == "-0.5: **GAN better**"


def test_the_report_gives_each_fcd_as_a_multiple_of_its_floor_and_its_noise(tmp_path):
    for name, fcd in (("GAN", 6.0), ("SAGAN", 6.2)):
        fake_run(tmp_path / name, fcd, fcd / 2)
        metrics = json.load(open(tmp_path / name / "metrics.json"))
        for part in ("model", "model_ema"):
            metrics[part].update(fcd_multiple=metrics[part]["fcd"] / 2.0, fcd_spread=0.5)
        metrics["real_floor"]["fcd"] = 2.0
        json.dump(metrics, open(tmp_path / name / "metrics.json", "w"))
    runs = {"GAN": {0: str(tmp_path / "GAN")}, "SAGAN": {0: str(tmp_path / "SAGAN")}}
    text = report.write_report(runs, [("attention against its control", "GAN", "SAGAN")],
                               {"GAN": (1, 2), "SAGAN": (3, 4)}, str(tmp_path / "report"), log=lambda *a: None)
    header = next(line for line in text.splitlines() if line.startswith("| configuration"))
    assert "| FCD / floor ↓ | FCD − floor ↓ |" in header
    assert any(line.startswith("| SAGAN | raw | 6.2 | 3.1 | 4.2 |") for line in text.splitlines()), text
    assert "sampling noise" in text and "SAGAN raw 0.5" in text
    fcd = verdict_column(text, "FCD")
    assert fcd["SAGAN against GAN (attention against its control)", "raw"] == "+0.2: within the sampling noise"
    assert verdict_column(text, "FCD / floor")["SAGAN against GAN (attention against its control)", "raw"] == (
        "+0.1: one seed")  # 0.2 < 2 * 0.71; the multiple has no noise of its own
    with pytest.raises(ValueError):  # the excess is shown beside the multiple, not judged: its difference is FCD's
        verdict_column(text, "FCD − floor")


def test_every_mean_and_std_have_the_same_decimals():
    assert report._cell((4.377, 1.1, 3)) == "4.377 ± 1.100"
    assert report._cell((2.03, 0.1, 3)) == "2.030 ± 0.100"  # trailing zeros kept, on both sides
    assert report._cell((16.12, 1.3, 3)) == "16.12 ± 1.30"
    assert report._cell((4192.0, 13.1, 2)) == "4192 ± 13"
    assert report._cell((1.36, 0.0, 1)) == "1.36"  # one seed: no spread


def test_the_last_epochs_excess_over_the_floor_uses_each_epochs_own_floor(tmp_path):
    rows = [(1, 20.0, 4.0), (2, 9.0, 4.5), (3, 8.0, 4.5)]  # the classifier, and so the floor, changed after epoch 1
    (tmp_path / "train_log.csv").write_text("step,epoch,fcd,fcd_floor,fcd_ema\n" + "".join(
        f"{10 * epoch},{epoch},{fcd},{floor},\n" for epoch, fcd, floor in rows))
    assert report.late_excess(str(tmp_path), "") == pytest.approx(np.mean([16.0, 4.5, 3.5]))
    assert report.late_excess(str(tmp_path), "_ema") is None


def test_conditional_columns_appear_with_a_conditional_run_and_a_dash_for_the_others(tmp_path):
    fake_run(tmp_path / "GAN", 6.0, 3.0)
    fake_run(tmp_path / "SAGAN_cond", 6.0, 3.0)
    metrics = json.load(open(tmp_path / "SAGAN_cond" / "metrics.json"))
    for part in ("model", "model_ema"):
        metrics[part].update(label_accuracy=0.98, intra_fcd_multiple=3.0, cas=0.95)
    json.dump(metrics, open(tmp_path / "SAGAN_cond" / "metrics.json", "w"))
    runs = {"GAN": {0: str(tmp_path / "GAN")}, "SAGAN_cond": {0: str(tmp_path / "SAGAN_cond")}}
    text = report.write_report(runs, [], {"GAN": (1, 2), "SAGAN_cond": (3, 4)}, str(tmp_path / "report"),
                               log=lambda *a: None)
    header = next(line for line in text.splitlines() if line.startswith("| configuration"))
    assert header.endswith("label accuracy ↑ | intra-class FCD / floor ↓ | classification accuracy score ↑ |")
    assert next(line for line in text.splitlines() if line.startswith("| GAN | raw |")).endswith("| — | — | — |")
    assert next(line for line in text.splitlines() if line.startswith("| SAGAN_cond | raw |")).endswith(
        "| 0.98 | 3 | 0.95 |")
    plain = report.write_report({"GAN": runs["GAN"]}, [], {"GAN": (1, 2)}, str(tmp_path / "plain"),
                                log=lambda *a: None)
    assert "label accuracy" not in plain


def test_the_last_epochs_multiple_averages_the_latest_row_of_each_of_the_last_five_epochs(tmp_path):
    rows = [(1, 9.0), (2, 8.0), (3, 7.0), (4, 6.0), (5, 5.0), (6, 100.0), (6, 4.0), (7, 3.0)]  # 6 logged twice
    (tmp_path / "train_log.csv").write_text("step,epoch,fcd_multiple,fcd_multiple_ema\n" + "".join(
        f"{10 * epoch},{epoch},{value},{value / 2}\n" for epoch, value in rows))
    assert report.late_multiple(str(tmp_path), "") == np.mean([7.0, 6.0, 5.0, 4.0, 3.0])
    assert report.late_multiple(str(tmp_path), "_ema") == np.mean([3.5, 3.0, 2.5, 2.0, 1.5])
    (tmp_path / "train_log.csv").write_text("step,epoch,fcd_multiple\n10,1,2.0\n20,2,\n")  # no --eval_every later
    assert report.late_multiple(str(tmp_path), "") == 2.0 and report.late_multiple(str(tmp_path), "_ema") is None


def test_the_comparisons_that_matter_pair_each_configuration_with_its_controls():
    import dataclasses
    from config import ModelConfig, configuration_label
    from evaluation.compare import pairs
    sagan = ModelConfig("SAGAN")
    configs = [ModelConfig("GAN"), sagan, dataclasses.replace(sagan, ema_decay=0.9999, ema_warmup=True),
               dataclasses.replace(sagan, conditional=True), ModelConfig("GAN", conditional=True)]
    labels = [configuration_label(c) for c in configs]
    found = pairs(dict(zip(labels, configs)))
    gan, sagan, warm, sagan_cond, gan_cond = labels
    assert sorted(found) == sorted([
        ("attention against its control", gan, sagan),
        ("recipe against the article's", sagan, warm),  # no GAN of that recipe, so no attention verdict for it
        ("attention against its control", gan_cond, sagan_cond),
        ("conditional against unconditional", sagan, sagan_cond),
        ("conditional against unconditional", gan, gan_cond)]), found


def test_the_ranking_ranks_the_most_seeded_configurations_and_lists_the_screens_apart(tmp_path):
    runs, late = {}, {"GAN": 2.0, "GAN_ema0.9999_emawarmup": 1.5, "SAGAN": 1.8, "SAGAN_ema0.9999_emawarmup": 2.2,
                      "GAN_lrdecay0.5": 1.0}
    for label, multiple in late.items():
        runs[label] = {}
        for seed in ((0,) if "lrdecay" in label else (0, 1)):  # a one-seed screen, lowest of all: not ranked
            folder = tmp_path / f"{label}_{seed}"
            fake_run(folder, 10.0, 5.0)
            (folder / "train_log.csv").write_text("step,epoch,seconds,fcd_multiple,fcd_multiple_ema\n" + "".join(
                f"{100 * e},{e},1.0,{3 * multiple},{multiple + 0.1 * seed}\n" for e in range(1, 7)))
            runs[label][seed] = str(folder)
    models = {label: label.split("_")[0] for label in late}
    text = report.write_report(runs, [], {label: (1, 2) for label in late}, str(tmp_path / "report"),
                               log=lambda *a: None, models=models)
    section = text[text.index("## Ranking"):]
    section = section[:section.index("\n## ", 1)]
    ranked_part, _, screens_part = section.partition("Screens")
    ranking = [line for line in ranked_part.splitlines() if line.startswith(("| GAN |", "| SAGAN |"))]
    assert [line.split(" | ")[1:4] for line in ranking] == [
        ["1", "GAN_ema0.9999_emawarmup", "2"], ["2", "GAN", "2"], ["1", "SAGAN", "2"],
        ["2", "SAGAN_ema0.9999_emawarmup", "2"]], ranking
    assert ranking[0].split(" | ")[4] == "1.550 ± 0.071"  # seeds 1.5 and 1.6
    screens = [line for line in screens_part.splitlines() if line.startswith(("| GAN |", "| SAGAN |"))]
    assert [line.split(" | ")[1:3] for line in screens] == [["GAN_lrdecay0.5", "1"]], screens
    assert "not ranked" in screens_part
    late_column = verdict_column(text, "FCD / floor, last 5 epochs")
    best = "SAGAN against GAN_ema0.9999_emawarmup (each at its best configuration)"
    assert late_column[best, "ema"] == "+0.3: **GAN_ema0.9999_emawarmup better**"  # 1.85 against 1.55, spread 0.071
    assert [name for name, _ in late_column if "best" in name] == [best, best]  # ema and raw; not the screen
    alone = report.write_report({"GAN": runs["GAN"]}, [], {"GAN": (1, 2)}, str(tmp_path / "alone"),
                                log=lambda *a: None, models={"GAN": "GAN"})
    assert "## Ranking" not in alone  # one configuration has nothing to be ranked against


def test_compare_without_runs_says_where_it_looked_and_how_to_compare_the_published_ones(tmp_path):
    from common.errors import UserError
    from config import Folders, ModelConfig
    from evaluation.compare import compare

    def must_not_run(*args):
        raise AssertionError("nothing to evaluate, so nothing is loaded")
    folders = Folders(checkpoint_dir=str(tmp_path / "checkpoint"), result_dir=str(tmp_path / "results"))
    with pytest.raises(UserError) as raised:
        compare(ModelConfig("GAN"), folders, must_not_run, 100, must_not_run, log=lambda *a: None)
    message = str(raised.value)
    assert "\n" not in message
    assert str(tmp_path / "results") in message and "add --measure" in message
    assert "--result_dir docs/runs" in message
    with pytest.raises(UserError) as raised:  # with --measure, the checkpoints too
        compare(ModelConfig("GAN"), folders, must_not_run, 100, must_not_run, log=lambda *a: None, measure=True)
    assert str(tmp_path / "checkpoint") in str(raised.value) and str(tmp_path / "results") in str(raised.value)


def test_epoch_times_of_two_machines_are_never_pooled(tmp_path):
    for seed, (machine, seconds) in enumerate((("fast", [100, 120]), ("slow", [300, 360, 330]))):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        lines = ["epoch,seconds,machine"] + [f"{e + 1},{s},{machine}" for e, s in enumerate(seconds)]
        (folder / "train_log.csv").write_text("\n".join(lines) + "\n")
    by_machine = report._epoch_seconds_by_machine([str(tmp_path / "seed0"), str(tmp_path / "seed1")])
    assert {m: float(np.median(s)) for m, s in by_machine.items()} == {"fast": 110.0, "slow": 330.0}


def test_the_gamma_table_has_a_row_for_every_attention_run_wherever_its_blocks_sit(tmp_path):
    logs = {"SAGAN": "gamma_g,gamma_d,gamma_g14,gamma_d14\n0.5,-0.25,,",
            "SAGAN_at14": "gamma_g,gamma_d,gamma_g14,gamma_d14\n,,-1.25,0.125",
            "GAN": "gamma_g,gamma_d,gamma_g14,gamma_d14\n,,,"}
    runs = {}
    for label, log in logs.items():
        header, values = log.split("\n")
        (tmp_path / label).mkdir()
        (tmp_path / label / "train_log.csv").write_text(f"step,epoch,{header}\n100,20,{values}\n")
        runs[label] = {0: str(tmp_path / label)}
    lines = report._gamma_table(runs)
    assert "| SAGAN | 0 | 20 | +0.5000 | -0.2500 | — | — |" in lines
    assert "| SAGAN_at14 | 0 | 20 | — | — | -1.2500 | +0.1250 |" in lines
    assert not any(line.startswith("| GAN |") for line in lines)


def test_a_diverged_run_is_left_out_of_the_fcd_figure_and_named_beneath_it_and_stale_figures_go(tmp_path, monkeypatch):
    drawn = {}
    monkeypatch.setattr(report, "plot_panels", lambda panels, *args, **kwargs: drawn.update(panels))
    runs = {}
    for label, multiple in (("GAN", 1.5), ("SAGAN_at14", 950.0)):
        (tmp_path / label).mkdir()
        (tmp_path / label / "train_log.csv").write_text(
            "step,epoch,d_loss,g_loss,fcd_multiple,fcd_multiple_ema\n"
            f"100,1,0.9,2.1,{multiple * 2},{multiple * 2}\n200,2,0.8,2.2,{multiple},{multiple}\n")
        runs[label] = {0: str(tmp_path / label)}
    lines = report._figures(runs, str(tmp_path))
    assert set(drawn["averaged G"]) == set(drawn["raw G"]) == {"GAN"}
    note = next(line for line in lines if line.startswith("Not drawn"))
    assert "SAGAN_at14 seed 0 (raw G, 950)" in note and "GAN seed" not in note

    for stale in ("fcd.png", "gammas.png"):  # an earlier report's figures, of other runs
        (tmp_path / stale).write_bytes(b"an earlier report's figure")
    (tmp_path / "GAN" / "train_log.csv").write_text(  # a run whose FCD became NaN has diverged too
        "step,epoch,d_loss,g_loss,fcd_multiple,fcd_multiple_ema\n100,1,0.9,2.1,3.0,3.0\n200,2,nan,nan,nan,nan\n")
    drawn.clear()
    lines = report._figures(runs, str(tmp_path))
    assert not drawn and not (tmp_path / "fcd.png").exists() and "![fcd](fcd.png)" not in lines
    assert not (tmp_path / "gammas.png").exists()  # neither of these runs has attention
    note = next(line for line in lines if line.startswith("No FCD figure"))
    assert "GAN seed 0 (raw G, nan)" in note
