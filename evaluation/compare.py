"""--phase compare: every configuration trained, over its seeds; which comparisons matter, and their verdicts."""
import dataclasses
import os

from common.errors import UserError
from common.interrupts import activity
from config import PRECISION_SUFFIX, RETIRED_FIELDS, Folders, ModelConfig, configuration_label, model_class, parse_model_dir
from evaluation.evaluate import evaluate_checkpoint, read_result
from evaluation.report import write_report
from training.checkpoints import latest_step
from training.runner import build
from training.runlog import read_run_config



def report_dir_name(dataset, precision):
    """The folder under --result_dir that holds a comparison's report."""
    return f"compare_{dataset}{PRECISION_SUFFIX[precision]}"


def fields_in(result_root):
    """A function of a run's folder name giving its ModelConfig fields: those of its config.json, or for runs
    from before config.json, the folder name parsed back; None for folders that are not runs, and why not for
    runs of a retired option (config.RETIRED_FIELDS)."""
    def fields_of(name):
        saved = read_run_config(os.path.join(result_root, name))
        retired = {k: v for k, v in (saved or {}).items() if k in RETIRED_FIELDS and v != RETIRED_FIELDS[k]}
        if retired:
            return "trained with " + ", ".join(f"{k} {v}" for k, v in retired.items()) + ", an option since retired"
        if saved is not None:
            try:
                return dataclasses.asdict(ModelConfig(**{k: v for k, v in saved.items()
                                                         if k in ModelConfig.__dataclass_fields__}))
            except (TypeError, ValueError):
                pass
        return parse_model_dir(name)
    return fields_of


def matching_runs(names, dataset, batch_size, z_dim, precision, fields_of=parse_model_dir):
    """({configuration label: {seed: name}}, [(name, why it is not one of them)]) of folder names of runs."""
    runs, skipped = {}, []
    wanted = dict(dataset=dataset, batch_size=batch_size, z_dim=z_dim, precision=precision)
    for name in sorted(names):
        fields = fields_of(name)
        if isinstance(fields, str):
            skipped.append((name, fields))
            continue
        if fields is None:
            if not name.startswith(("compare_", "classifier_")):  # the project's own folders of other kinds
                skipped.append((name, "its name is not a model_dir"))
            continue
        differs = [f"{key} {fields[key]}" for key, value in wanted.items() if fields[key] != value]
        if differs:
            skipped.append((name, f"another {', '.join(differs)} than asked"))
            continue
        label = configuration_label(ModelConfig(**fields))
        runs.setdefault(label, {})[fields["seed"]] = name
    return runs, skipped


def find_runs(folders, dataset, batch_size, z_dim, precision, measure=False, log=print):
    """{configuration label: {seed: model_dir}} of the runs to report: those whose metrics.json measured both
    weights and, with measure, those with a checkpoint too (measured before the report). Says which folders it
    skips, and which checkpoints it leaves unmeasured."""
    roots = (folders.checkpoint_dir, folders.result_dir) if measure else (folders.result_dir,)
    names = set()
    for root in roots:
        if os.path.isdir(root):
            names |= {n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n))}
    runs, skipped = matching_runs(names, dataset, batch_size, z_dim, precision, fields_in(folders.result_dir))
    for label, seeds in list(runs.items()):
        for seed, name in list(seeds.items()):
            result = read_result(folders.of("result", name))
            step = latest_step(folders.of("checkpoint", name))
            if measure and step is not None:
                continue
            if not _whole(result):
                skipped.append((name, "no metrics.json of both weights" + (
                    f" and no checkpoint in {folders.of('checkpoint', name)}" if measure else
                    "; measure its checkpoint with --phase eval, or give --measure")))
                del seeds[seed]
            elif step is not None and result.get("step") != step:
                log(f"compare: {name}: reporting its metrics.json (step {result.get('step')}) as it is; the checkpoint "
                    f"in {folders.of('checkpoint', name)} (step {step}) is not measured (--measure measures it)")
        if not seeds:
            del runs[label]
    for name, why in sorted(skipped):
        log(f"compare: skipping {name}: {why}")
    return runs


def _whole(result):
    """Whether a metrics.json (or None) measured both weights."""
    return result is not None and "model_ema" in result


def compare(base, folders, load_yardstick, num_eval_samples, session, log=print, measure=False, report_dir=None):
    """Report every run of base's dataset, batch size, z_dim and precision from its metrics.json, into report_dir
    (by default results/compare_<dataset>, whatever --result_dir is: the folders reported on are only read).

    With measure, a run whose metrics.json is missing, lacks the averaged G, or is older than its newest checkpoint
    is measured first (its metrics.json rewritten); without it nothing is measured and nothing trains.
    load_yardstick() gives the yardstick, asked for only when a run needs measuring; session() gives a new graph's
    session.
    """
    runs = find_runs(folders, base.dataset, base.batch_size, base.z_dim, base.precision, measure, log)
    if not runs:
        raise UserError(f"no run to compare: looked for metrics.json files under {folders.result_dir}/ (--result_dir)"
                        + (f" and checkpoints under {folders.checkpoint_dir}/ (--checkpoint_dir)" if measure else "")
                        + f" of {base.dataset}, batch {base.batch_size}, z_dim {base.z_dim}, {base.precision}; "
                        + ("train one first" if measure else "add --measure to measure trained runs first")
                        + ", or give --result_dir docs/runs to compare the published runs")
    configs, parameter_counts, yardstick = {}, {}, None
    fields_of = fields_in(folders.result_dir)
    for label, seeds in runs.items():
        for seed, name in seeds.items():
            config = ModelConfig(**fields_of(name))
            configs[label] = dataclasses.replace(config, seed=0)
            result = read_result(folders.of("result", name))
            step = latest_step(folders.of("checkpoint", name))
            if measure and step is not None and (not _whole(result) or result.get("step", step) != step):
                if yardstick is None:
                    yardstick = load_yardstick()
                with session() as sess, activity(f"evaluating {name}", "the runs evaluated before it keep "
                                                                       "their metrics.json"):
                    evaluate_checkpoint(build(config, sess, sampler=True), folders, yardstick, num_eval_samples, log)
        config = configs[label]
        parameter_counts[label] = model_class(config.gan_type)(config).count_parameters()
    result_dirs = {label: {seed: folders.of("result", name) for seed, name in seeds.items()}
                   for label, seeds in runs.items()}
    out_dir = report_dir or os.path.join(Folders.result_dir, report_dir_name(base.dataset, base.precision))
    with activity("writing the report", "each file of it is whole or absent"):
        models = {label: config.gan_type + (" conditional" if config.conditional else "")
                  for label, config in configs.items()}
        return write_report(result_dirs, pairs(configs), parameter_counts, out_dir, log, models)


def pairs(configs):
    """[(why, first label, second label)] of the comparisons that matter among configs {label: ModelConfig}: a
    model with attention against GAN under the same recipe, a recipe against the article's (conditional or not
    alike), and a conditional model against its unconditional twin."""
    found = []
    for label, config in sorted(configs.items()):
        def twin(config_of_twin):
            other = configuration_label(config_of_twin)
            return other if other != label and other in configs else None
        control = twin(dataclasses.replace(config, gan_type="GAN"))
        if config.gan_type != "GAN" and control:
            found.append(("attention against its control", control, label))
        article = twin(ModelConfig(config.gan_type, conditional=config.conditional))
        if article:
            found.append(("recipe against the article's", article, label))
        unconditional = twin(dataclasses.replace(config, conditional=False))
        if config.conditional and unconditional:
            found.append(("conditional against unconditional", unconditional, label))
    return found
