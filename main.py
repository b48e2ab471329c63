"""Command line: train, resume and sample the GAN and SAGAN of the article on MNIST or Fashion-MNIST."""
import argparse
import math
import os
import sys

GAN_TYPES = ("GAN", "SAGAN")
MAX_NUM_SAMPLES = 1_000_000  # 784 MB of uint8


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def bounded_int(low, high):
    """argparse type: an integer in [low, high]."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in [{low}, {high}]")
        return value
    return parse


def bounded_float(low, high, low_open=True):
    """argparse type: a finite float in (low, high] (or [low, high] with low_open=False)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            raise argparse.ArgumentTypeError(f"{text} is not in {'(' if low_open else '['}{low}, {high}]")
        return value
    return parse


def query_list(text):
    """argparse type: attention query positions."""
    from attention_maps import parse_queries
    try:
        return parse_queries(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}" if "grid" in str(e) else
                                         f"{text!r} is not 'row,col;row,col'") from None


def parse_args(argv=None):
    """Parse and check the command line."""
    p = OneLineParser(description="SAGAN and its vanilla GAN baseline, TensorFlow 1 style.",
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--gan_type", choices=GAN_TYPES, help="model to build; required but for --phase compare")
    p.add_argument("--dataset", default="mnist", choices=("mnist", "fashion-mnist"), help="dataset")
    p.add_argument("--phase", default="train", choices=("train", "sample", "eval", "attention", "compare"),
                   help="train (resuming from the latest checkpoint); sample, evaluate or draw the attention "
                        "maps of the latest checkpoint; compare the GAN and SAGAN runs of every seed")
    p.add_argument("--epoch", type=bounded_int(1, 100_000), default=20, help="epochs to train in all")
    p.add_argument("--batch_size", type=bounded_int(1, 70_000), default=64, help="batch size")
    p.add_argument("--z_dim", type=bounded_int(1, 10_000), default=62, help="dimension of z")
    p.add_argument("--learning_rate", type=bounded_float(0.0, 1.0), default=2e-4, help="D's Adam learning rate")
    p.add_argument("--g_lr_ratio", type=bounded_float(0.0, 1000.0), default=5.0,
                   help="G's learning rate as a multiple of D's")
    p.add_argument("--beta1", type=bounded_float(0.0, 0.999, low_open=False), default=0.5, help="Adam beta1")
    p.add_argument("--train_step", default="fused", choices=("fused", "literal"),
                   help="fused: D and G steps in one session.run, G's forward pass shared; literal: the article's "
                        "two session.run calls; the same updates")
    p.add_argument("--precision", default="float32", choices=("float32", "bfloat16"),
                   help="arithmetic of the nets; bfloat16 is mixed precision, with float32 weights, batch-norm "
                        "statistics and losses")
    p.add_argument("--seed", type=bounded_int(0, 2**31 - 1), default=0,
                   help="seed of weights, data order and z; other than 0 it is added to model_dir")
    p.add_argument("--save_every", type=bounded_int(1, 10**9), default=500, help="checkpoint every N steps")
    p.add_argument("--log_every", type=bounded_int(1, 10**9), default=50,
                   help="losses to steps.csv and TensorBoard every N steps")
    p.add_argument("--eval_every", type=bounded_int(0, 100_000), default=1,
                   help="FCD and classifier score of 5,000 samples every N epochs while training; 0 turns it off")
    p.add_argument("--stop_after_steps", type=bounded_int(1, 10**9), default=None,
                   help="save and stop after N steps of this run; run again to continue")
    p.add_argument("--num_samples", type=bounded_int(1, MAX_NUM_SAMPLES), default=64,
                   help="images written by --phase sample")
    p.add_argument("--num_eval_samples", type=bounded_int(100, MAX_NUM_SAMPLES), default=10_000,
                   help="generated images compared with the test set by --phase eval")
    p.add_argument("--queries", type=query_list, default=None,
                   help="--phase attention: 7x7-grid positions 'row,col;row,col' (default: a spread of five)")
    p.add_argument("--checkpoint_dir", default="checkpoint", help="checkpoints go in <this>/<model_dir>")
    p.add_argument("--result_dir", default="results", help="images and CSV logs go in <this>/<model_dir>")
    p.add_argument("--log_dir", default="logs", help="TensorBoard logs go in <this>/<model_dir>")
    p.add_argument("--data_dir", default="data", help="datasets live in <this>/<dataset>")
    args = p.parse_args(argv)
    if args.gan_type is None and args.phase != "compare":
        p.error("the following arguments are required: --gan_type")
    for flag in ("checkpoint_dir", "result_dir", "log_dir", "data_dir"):
        path = getattr(args, flag)
        if os.path.exists(path) and not os.path.isdir(path):
            p.error(f"--{flag} {path} exists and is not a folder")
    return args


def evaluate_checkpoint(model, classifier, splits, num_samples):
    """Restore the model's latest checkpoint, write metrics.json and print the table."""
    from evaluate import evaluate, format_table, write_result
    model.restore_trained()
    result = evaluate(model, classifier, splits, num_samples)
    print(format_table(result))
    print(f"wrote {write_result(result, model.out_dir('result'))}")


def draw_attention(model, real_images, queries):
    """Restore the latest checkpoint and draw its attention maps."""
    from attention_maps import DEFAULT_QUERIES, show_attention
    from utils import UserError
    if not model.attention_maps:
        raise UserError(f"{model.model_name} has no attention blocks; use --gan_type SAGAN")
    model.restore_trained()
    show_attention(model, real_images, queries or DEFAULT_QUERIES)


def run_phase(args):
    """Load what the phase needs, build the model in its own graph and run the phase."""
    import tensorflow as tf
    from GAN import GAN, session_config
    from SAGAN import SAGAN
    from utils import load_splits, train_and_test

    tf1 = tf.compat.v1
    model_classes = {"GAN": GAN, "SAGAN": SAGAN}
    splits = load_splits(args.dataset, args.data_dir) if args.phase != "sample" else None
    images = train_and_test(splits)[0] if args.phase == "train" else None
    measuring = args.phase in ("eval", "compare") or (args.phase == "train" and args.eval_every > 0)
    classifier = None
    if measuring:
        from classifier import trained_classifier
        classifier = trained_classifier(args.dataset, args.checkpoint_dir, splits)

    def build(gan_type, sess, **changes):
        model = model_classes[gan_type](sess, argparse.Namespace(**{**vars(args), **changes}), images)
        model.build_model()
        return model

    if args.phase == "compare":
        from compare import GAN_TYPES, find_runs, write_report
        from GAN import PRECISION_SUFFIX
        suffix = PRECISION_SUFFIX[args.precision]
        runs = find_runs(args.result_dir, args.dataset, args.batch_size, args.z_dim, suffix)
        parameter_counts = {}
        for gan_type in GAN_TYPES:
            for seed, folder in runs[gan_type].items():
                if not os.path.exists(os.path.join(folder, "metrics.json")):
                    with tf.Graph().as_default(), tf1.Session(config=session_config(args)) as sess:
                        evaluate_checkpoint(build(gan_type, sess, seed=seed), classifier, splits,
                                            args.num_eval_samples)
            with tf.Graph().as_default():
                model = build(gan_type, None)
                parameter_counts[gan_type] = tuple(sum(v.shape.num_elements() for v in variables)
                                                   for variables in (model.g_vars, model.d_vars))
        write_report(runs, parameter_counts, os.path.join(args.result_dir, f"compare_{args.dataset}{suffix}"))
        return
    with tf.Graph().as_default(), tf1.Session(config=session_config(args)) as sess:
        model = build(args.gan_type, sess)
        if args.phase == "train":
            from evaluate import epoch_evaluator
            model.train(stop_after_steps=args.stop_after_steps,
                        evaluate_epoch=epoch_evaluator(classifier, splits["t10k"][0]) if classifier else None)
        elif args.phase == "sample":
            model.sample(args.num_samples)
        elif args.phase == "eval":
            evaluate_checkpoint(model, classifier, splits, args.num_eval_samples)
        else:
            draw_attention(model, splits["t10k"][0], args.queries)


def main(argv=None):
    """Run the chosen phase; returns the exit status."""
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from GAN import Interrupted, NonFinite
    from utils import UserError

    tf.compat.v1.disable_eager_execution()
    try:
        run_phase(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # an output folder that is full or not writable
        print(f"error: {e.strerror or e}: {e.filename or ''}; free some space or fix permissions, "
              f"then run again", file=sys.stderr)
        return 2
    except Interrupted as e:
        return e.exit_status
    except NonFinite as e:
        print(f"error: training stopped: {e}; the last finite checkpoint is kept", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
