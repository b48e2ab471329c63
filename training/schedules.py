"""--train_step: how one D step and one G step are scheduled, built here and nowhere else.

literal: the framework's, session.run(d_optim) and then session.run(g_optim), which computes G again.
fused (the default): the same updates in one session.run, G computed once and D run once over [real; fake].
The nets do not know which one runs; tests/test_models.py holds the two to the same losses and weights.
"""
import tensorflow as tf

from common.graph import new_entries
from extensions.spectral_norm import SN_U, SN_U_NEXT
from ops import BN_BATCH_STATISTICS, BN_MOVING_AVERAGES, update_moving_average


class FrameworkStep:
    """The framework's schedule: two session.run calls, G's forward pass computed again by the G step."""

    def discriminate(self, discriminator, images, fakes, real_labels, fake_labels, reuse):
        """(D's logits on the real images, on G's, and spectral norm's (u, next u) pairs of the pass that moves D's
        u: the one over the real images). discriminator(images, labels, reuse, batch_parts) builds D."""
        with new_entries(SN_U, SN_U_NEXT) as moving:
            real = discriminator(images, real_labels, reuse, 1)
        return real, discriminator(fakes, fake_labels, True, 1), moving

    def g_pass_updates(self, g_pass):
        """Updates the schedule adds to G's step, from the {collection: entries} of G's first pass."""
        return []

    def build(self, d_update, g_update, g_loss, g_loss_after_d_step):
        """The step's ops. d_update() and g_update(loss) build the optimisers' updates (with what follows each),
        g_loss is G's loss on this step's pass, g_loss_after_d_step() builds it on D after the D step."""
        self.d_optim, self.g_optim, self.g_loss = d_update(), g_update(g_loss), g_loss

    def run_d(self, sess, feed):
        """One D step alone (the extra ones of --d_steps)."""
        sess.run(self.d_optim, feed)

    def run(self, sess, d_fetches, feed, g_feed):
        """One D step then one G step; returns d_fetches' values and 'g_loss'."""
        d_out = sess.run([self.d_optim, d_fetches], feed)[1]
        return {**d_out, **sess.run([self.g_optim, {"g_loss": self.g_loss}], g_feed)[1]}


class FusedStep(FrameworkStep):
    """The framework's updates in one session.run: G's forward pass once, D's over [real; fake] at once."""

    def discriminate(self, discriminator, images, fakes, real_labels, fake_labels, reuse):
        """As FrameworkStep's, from one pass over [real; fake] whose halves keep their own batch statistics:
        bigger matmuls, the same maths."""
        both = None if real_labels is None else tf.concat([real_labels, fake_labels], 0)
        with new_entries(SN_U, SN_U_NEXT) as moving:
            real, fake = tf.split(discriminator(tf.concat([images, fakes], 0), both, reuse, 2), 2)
        return real, fake, moving

    def g_pass_updates(self, g_pass):
        """The framework's G step runs G's forward pass again, which moves G's batch-norm averages again."""
        return [update_moving_average(average, statistic) for average, statistic in
                zip(g_pass[BN_MOVING_AVERAGES], g_pass[BN_BATCH_STATISTICS])]

    def build(self, d_update, g_update, g_loss, g_loss_after_d_step):
        self.d_optim = d_step = d_update()
        with tf.control_dependencies([d_step]):  # D read after the D step, as the framework's G step reads it
            self.g_loss = g_loss_after_d_step()
        self.train_op = g_update(self.g_loss)  # runs the D step first: the loss it differentiates waits for it

    def run(self, sess, d_fetches, feed, g_feed):
        return sess.run([self.train_op, {**d_fetches, "g_loss": self.g_loss}], feed)[1]


SCHEDULES = {"literal": FrameworkStep, "fused": FusedStep}
