"""A model's checkpoints: written only when finite, restored newest-complete-first, checked against the model.

A checkpoint written before the averaged generator existed (ema.SCOPE) still restores: its averaged
weights start from the raw ones.
"""
import os
import re

import tensorflow as tf

from config import weights_width
from training import ema
from common.errors import CorruptCheckpoint, NonFinite, UserError

tf1 = tf.compat.v1

KEPT = 3
OPTIMISER_SLOT = re.compile(r"/Adam(_\d+)?$")  # Adam's m and v of a variable: <variable>/Adam, <variable>/Adam_1


def latest_step(folder):
    """The step of the newest checkpoint that folder's index (TensorFlow's state file) lists, or None."""
    state = tf1.train.get_checkpoint_state(folder) if os.path.isdir(folder) else None
    if state is None or not state.model_checkpoint_path:
        return None
    return int(state.model_checkpoint_path.rsplit("-", 1)[1])


def stored_widths(folder):
    """The widths of the power-function averages (training/ema.width_scope) in folder's newest checkpoint; () when
    there is none."""
    state = tf1.train.get_checkpoint_state(folder) if os.path.isdir(folder) else None
    if state is None or not state.model_checkpoint_path:
        return ()
    try:
        names = [name for name, _ in tf1.train.list_variables(state.model_checkpoint_path)]
    except Exception:  # a corrupt newest checkpoint: load() says so, and tries the one before
        return ()
    scopes = {name.split("/")[0] for name in names}
    return tuple(sorted(w for w in (weights_width(s[len("generator_"):]) for s in scopes if s.startswith("generator_"))
                        if w is not None and ema.width_scope(w) in scopes))


def of_run(runner, folders):
    """The checkpoints of a runner's built model, in checkpoint/<model_dir>/ as <model_name>.model-<step> as in
    the framework: of every variable of a training graph, or (partial) of those a sampler built."""
    model = runner.model
    return Checkpoints(runner.sess, folders.of("checkpoint", runner.model_dir), model.model_name + ".model",
                       model.global_step, model.averaged.copy_raw, partial=not model.trains)


class Checkpoints:
    """The savers of a built model and what they read and write."""

    def __init__(self, sess, folder, file_prefix, global_step, copy_raw, partial=False):
        """The savers of sess's graph, writing folder/<file_prefix>-<step>; global_step is read after a restore,
        copy_raw run when a checkpoint predates the averaged G (it starts as the raw one).

        partial: the graph holds only some of a checkpoint's variables (a sampler's), which it restores and
        never saves; the checkpoint's others (optimiser state, nets not built) are left unread."""
        self.sess, self.folder, self.file_prefix = sess, folder, file_prefix
        self.global_step, self.copy_raw, self.partial = global_step, copy_raw, partial
        self.saver = tf1.train.Saver(max_to_keep=KEPT, save_relative_paths=True)  # the folder can move
        self._best_saver = self._without_average = None  # built when first needed: most runs never need them
        if not partial:
            self.all_finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in tf1.trainable_variables()])

    @property
    def best_saver(self):
        """The saver of checkpoint/<model_dir>/best/, which keeps one checkpoint."""
        if self._best_saver is None:
            self._best_saver = tf1.train.Saver(max_to_keep=1, save_relative_paths=True)
        return self._best_saver

    @property
    def without_average(self):
        """The saver of every variable but the averaged G's, for checkpoints from before it existed."""
        if self._without_average is None:
            self._without_average = tf1.train.Saver([v for v in tf1.global_variables()
                                                     if not v.op.name.startswith(ema.SCOPE + "/")])
        return self._without_average

    def save(self, step, best=False):
        """Write a checkpoint of every variable, optimiser state included, if every weight is finite.

        best=True keeps it in <checkpoint folder>/best/ instead; returns the folder written.
        """
        if not self.sess.run(self.all_finite):
            raise NonFinite(f"non-finite weight at step {step}")
        folder = os.path.join(self.folder, "best") if best else self.folder
        os.makedirs(folder, exist_ok=True)
        try:
            (self.best_saver if best else self.saver).save(self.sess, os.path.join(folder, self.file_prefix),
                                                           global_step=step)
        except (OSError, tf.errors.OpError) as e:
            reason = " ".join(str(getattr(e, "message", e)).split())
            raise UserError(f"cannot write a checkpoint in {folder} ({reason}); free some space or fix its "
                            f"permissions, then run again: the previous checkpoint is intact") from None
        return folder

    def load(self, log=print):
        """Restore the newest complete checkpoint; returns its step, or None if there is none.

        A newest checkpoint that is truncated or lacks a file is skipped for the one before it.
        """
        folder = self.folder
        state = tf1.train.get_checkpoint_state(folder) if os.path.isdir(folder) else None
        if state is None or not state.model_checkpoint_path:
            return None
        candidates = list(dict.fromkeys(reversed([*state.all_model_checkpoint_paths, state.model_checkpoint_path])))
        for path in candidates:
            try:
                without_average = self.check_compatible(path)
                (self.without_average if without_average else self.saver).restore(self.sess, path)
            except CorruptCheckpoint as e:
                log(f"warning: {e}; trying the previous checkpoint")
                continue
            except (tf.errors.OpError, ValueError) as e:
                log(f"warning: checkpoint {path} cannot be restored ({type(e).__name__}); "
                    "trying the previous checkpoint")
                continue
            if without_average:
                self.sess.run(self.copy_raw)
                log(f"{path} predates the averaged generator: it starts from the raw weights")
            step = int(self.sess.run(self.global_step))
            # Let max_to_keep go on pruning the checkpoints of earlier runs, oldest first.
            kept = [p for p in state.all_model_checkpoint_paths if p != path] + [path]
            self.saver.set_last_checkpoints_with_time(
                [(p, os.path.getmtime(p + ".index")) for p in kept if os.path.exists(p + ".index")])
            log(f"restored {path} (step {step})")
            return step
        raise UserError(f"no complete checkpoint in {folder} (tried {len(candidates)}); nothing was "
                        f"changed: move the folder away to start afresh")

    def restore_trained(self, log=print):
        """Restore the newest complete checkpoint for sampling or measuring; its step, or a clear error when there
        is none."""
        step = self.load(log)
        if step is None:
            raise UserError(f"no checkpoint in {self.folder}: train first with --phase train")
        return step

    def remove_unlisted(self, log=print):
        """Delete this model's checkpoint files that the folder's index does not list. A process killed between
        writing a checkpoint and listing it, or between unlisting the oldest and deleting it, leaves them, and
        max_to_keep never sees them again. Only for the process that holds the folder's lock."""
        folder = self.folder
        state = tf1.train.get_checkpoint_state(folder)
        listed = {os.path.basename(p) for p in ([*state.all_model_checkpoint_paths, state.model_checkpoint_path]
                                                if state else [])}
        # GAN.model-12.index, GAN.model-12.meta, GAN.model-12.data-00000-of-00001
        pattern = re.compile(re.escape(self.file_prefix) + r"-\d+(?=\.(index|meta|data-\d+-of-\d+)$)")
        unlisted = [name for name in sorted(os.listdir(folder))
                    if (match := pattern.match(name)) and match.group(0) not in listed]
        for name in unlisted:
            os.remove(os.path.join(folder, name))
        if unlisted:
            log(f"removed {len(unlisted)} files of checkpoints the index no longer lists (a killed run left them)")

    def check_compatible(self, path):
        """True if the checkpoint lacks only the averaged generator; a UserError if it is another model's."""
        try:
            stored = dict(tf1.train.list_variables(path))
        except Exception as e:
            raise CorruptCheckpoint(f"checkpoint {path} cannot be read ({type(e).__name__})") from None
        ours = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
        if self.partial:  # what a sampler does not build: optimiser slots, and the nets or scopes it leaves out
            built = {name.split("/")[0] for name in ours}
            stored = {n: s for n, s in stored.items() if n.split("/")[0] in built and not OPTIMISER_SLOT.search(n)}
        missing = sorted(set(ours) - set(stored))
        without_average = bool(missing) and all(n.startswith(ema.SCOPE + "/") for n in missing)
        if without_average:
            missing = []
        mismatched = sorted(n for n in set(ours) & set(stored) if list(stored[n]) != ours[n])
        if missing or mismatched or set(stored) - set(ours):
            detail = (f"missing {missing[0]}" if missing else
                      f"{mismatched[0]} has shape {stored[mismatched[0]]}, expected {ours[mismatched[0]]}"
                      if mismatched else f"it has extra variable {sorted(set(stored) - set(ours))[0]}")
            raise UserError(f"checkpoint {path} was written by another model ({detail}); "
                            f"check --gan_type, --z_dim and the recipe flags, or use another --checkpoint_dir")
        return without_average
