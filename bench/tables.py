"""bench's report as tables: plain text for the terminal, Markdown for docs/performance.md."""


def format_table(report):
    """The report as plain text."""
    peaks = report["matmul_peak_gflops"]
    lines = [f"{report['machine']['cpu']}, {report['machine']['cores']} cores, TF {report['machine']['tensorflow']}; "
             f"matmul peak: float32 {peaks['float32']:.0f} GFLOP/s, bfloat16 {peaks['bfloat16']:.0f} GFLOP/s",
             "CPU flags: " + cpu_flag_line(report["machine"]),
             f"{'model':<7}{'config':<10}{'img/s':>8}{'x literal':>10}{'MFLOP/img':>10}{'GFLOP/s':>9}"
             f"{'% fp32 pk':>10}{'% bf16 pk':>10}"]
    for model_name, result in report["models"].items():
        for config, row in result["training"].items():
            lines.append(f"{model_name:<7}{config:<10}{row['images_per_second']:>8.0f}{row['speedup']:>10.3f}"
                         f"{row['flops_per_image'] / 1e6:>10.0f}{row['gflops']:>9.0f}"
                         f"{100 * row['share_of_fp32_peak']:>10.1f}{100 * row['share_of_bf16_peak']:>10.1f}")
    for model_name, result in report["models"].items():
        parts = [f"sampling {result['sampling_images_per_second']:.0f} img/s"]
        if "evaluation_seconds" in result:
            parts.append(f"evaluation of {report['settings']['eval_samples']} samples "
                         f"{result['evaluation_seconds']:.1f} s")
        if "epoch" in result:
            epoch = result["epoch"]
            parts.append(f"epoch {epoch['epoch_seconds']:.0f} s, overhead {100 * epoch['overhead']:+.1f}%, "
                         f"peak RSS {epoch['peak_rss_mb']:.0f} MB")
        lines.append(f"{model_name}: " + "; ".join(parts))
    lines += [line for model_name, result in report["models"].items() for line in recipe_lines(model_name, result)]
    lines += [f"{model_name}: " + ", ".join(f"{name} {rate:.0f} img/s ({scaling['of_one_device'][name]:.3f}x)"
                                            for name, rate in scaling["images_per_second"].items()) +
              f"; the gradient sum {1000 * scaling['gradient_sum_seconds']:.1f} ms "
              f"({100 * scaling['gradient_sum_share_of_2_tower_step']:.1f}% of a 2-tower step)"
              for model_name, scaling in scaling_of(report)]
    return "\n".join(lines)


def scaling_of(report):
    """[(model, its scaling measurement)] of the models that have one."""
    return [(name, result["scaling"]) for name, result in report["models"].items() if "scaling" in result]


def recipe_lines(model_name, result):
    """The recipe options' cost against the default step, one line per model; none in older reports."""
    recipe = result.get("recipe")
    if recipe is None:
        return []
    update = recipe["average_update"]
    return [f"{model_name}: --sn {recipe['sn']['images_per_second']:.0f} img/s ({recipe['sn']['of_default']:.3f}x "
            f"default), --recipe paper {recipe['paper']['images_per_second']:.0f} img/s "
            f"({recipe['paper']['of_default']:.3f}x); the averaged G's update {1000 * update['seconds']:.1f} ms, "
            f"{100 * update['share_of_default_step']:.1f}% of a default step; spectral norm and the average "
            f"together {100 * recipe['sn_and_average_share']:+.1f}%{sn_interval(recipe)}"]


def sn_interval(recipe):
    """Spectral norm and the average's 90% interval, as ' (90% interval a to b)'; empty in older reports."""
    interval = recipe.get("sn_and_average_interval90")
    if not interval:
        return ""
    return f" (90% interval {100 * interval[0]:+.1f}% to {100 * interval[1]:+.1f}%)"


def cpu_flag_line(machine_report):
    """The CPU's flags of interest, bfloat16 support, and any oneDNN cap, in one line."""
    flags = machine_report.get("cpu_flags")
    if flags is None:
        return "not recorded"
    capped = machine_report.get("onednn_max_cpu_isa")
    return (" ".join(flags) + f"; bfloat16 in hardware: {'yes' if machine_report['bfloat16_in_hardware'] else 'no'}"
            + (f"; ONEDNN_MAX_CPU_ISA={capped}" if capped else ""))


def format_markdown(report):
    """The training table and the per-model line as Markdown, for README."""
    peaks = report["matmul_peak_gflops"]
    lines = [f"{report['machine']['cpu']}, {report['machine']['cores']} cores; CPU flags: "
             f"{cpu_flag_line(report['machine'])}.", "",
             "| model | step | images/s | × literal | MFLOP/image | GFLOP/s | of fp32 peak | of bf16 peak |",
             "|---|---|---|---|---|---|---|---|"]
    for model_name, result in report["models"].items():
        for config, row in result["training"].items():
            lines.append(f"| {model_name} | {config} | {row['images_per_second']:.0f} | {row['speedup']:.3f} | "
                         f"{row['flops_per_image'] / 1e6:.0f} | {row['gflops']:.0f} | "
                         f"{100 * row['share_of_fp32_peak']:.0f}% | {100 * row['share_of_bf16_peak']:.0f}% |")
    lines += ["", f"Matmul peak measured in the same run: float32 {peaks['float32']:.0f} GFLOP/s, "
              f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s.", "",
              "| model | sampling, images/s | evaluating 10,000 samples, s | one real epoch, s | its overheads | "
              "peak memory of that training process, MB |", "|---|---|---|---|---|---|"]
    for model_name, result in report["models"].items():
        epoch = {"epoch_seconds": None, "overhead": None, "peak_rss_mb": None, **result.get("epoch", {})}

        def cell(value, fmt):
            return "—" if value is None else fmt.format(value)  # not measured, or withheld
        lines.append(f"| {model_name} | {result['sampling_images_per_second']:.0f} | "
                     f"{result['evaluation_seconds']:.1f} | {cell(epoch['epoch_seconds'], '{:.0f}')} | "
                     f"{cell(epoch['overhead'] and 100 * epoch['overhead'], '{:+.1f}%')} | "
                     f"{cell(epoch['peak_rss_mb'], '{:.0f}')} |")
    recipes = [(name, result["recipe"]) for name, result in report["models"].items() if "recipe" in result]
    if recipes:
        lines += ["", "| model | --sn, images/s (× default) | --recipe paper, images/s (× default) | averaged G's "
                  "update, ms (share of a step) | spectral norm and the average together |", "|---|---|---|---|---|"]
        lines += [f"| {name} | {r['sn']['images_per_second']:.0f} ({r['sn']['of_default']:.3f}) | "
                  f"{r['paper']['images_per_second']:.0f} ({r['paper']['of_default']:.3f}) | "
                  f"{1000 * r['average_update']['seconds']:.1f} "
                  f"({100 * r['average_update']['share_of_default_step']:.1f}%)"
                  f" | {100 * r['sn_and_average_share']:+.1f}%{sn_interval(r)} |" for name, r in recipes]
    if scaling_of(report):
        lines += ["", "| model | 1 device, images/s | 2 towers, images/s (× 1 device) | 2 towers with --sync_bn (× 1 "
                  "device) | the gradient sum, ms (share of a 2-tower step) |", "|---|---|---|---|---|"]
        lines += [f"| {name} | {s['images_per_second']['one device']:.0f} | {s['images_per_second']['2 towers']:.0f} "
                  f"({s['of_one_device']['2 towers']:.3f}) | {s['images_per_second']['2 towers, --sync_bn']:.0f} "
                  f"({s['of_one_device']['2 towers, --sync_bn']:.3f}) | {1000 * s['gradient_sum_seconds']:.1f} "
                  f"({100 * s['gradient_sum_share_of_2_tower_step']:.1f}%) |" for name, s in scaling_of(report)]
    return "\n".join(lines)
