"""What runs a built model's graph, as guided-diffusion's TrainLoop runs its model: the session, the data G learns
from, a training step, samples, the attention blocks' values, the weights of a G, initialisation.

GAN and SAGAN build graphs and hold their tensors; a Runner feeds and fetches them. The training loop, the
samples, evaluation, the attention pictures and the export all go through one.
"""
import numpy as np
import tensorflow as tf

from common.errors import UserError
from config import model_class, model_dir
from parallel.replicas import ONE_DEVICE
from training import streams
from utils import to_uint8

tf1 = tf.compat.v1

SAMPLE_CHUNK = 1000  # images per session.run when sampling


class Runner:
    """A built model (build, below, builds it in sess's graph), its session, and the images it trains on."""

    def __init__(self, model, sess, images=None, labels=None):
        """images: uint8 [N, 28, 28, 1] to train on (None when only sampling); labels: their digits [N], which a
        class-conditional model learns from."""
        self.model, self.sess = model, sess
        self.images, self.labels = images, labels
        config = model.config
        if images is not None:
            if config.batch_size * config.d_steps > len(images):
                raise UserError(f"--batch_size {config.batch_size} times --d_steps {config.d_steps} is larger than "
                                f"the dataset ({len(images)} images)")
            self.num_batches = len(images) // config.batch_size  # the last incomplete batch is dropped
            # G updates per epoch: each takes d_steps batches, one per D update; an incomplete group is dropped
            self.steps_per_epoch = self.num_batches // config.d_steps

    @property
    def config(self):
        """The model's ModelConfig."""
        return self.model.config

    @property
    def model_name(self):
        return self.model.model_name

    @property
    def model_dir(self):
        """This run's folder name under checkpoint/, results/ and logs/ (config.model_dir)."""
        return model_dir(self.config)

    def initialize(self):
        """Initialise every variable; the averaged Gs start as G."""
        self.sess.run(tf1.global_variables_initializer())
        self.sess.run([averaged.copy_raw for averaged in self.model.averages.values()])

    def _feed(self, z, lr_scale=None, batch=None, labels=None):
        """The feed of z (and of lr_scale, of a real batch, and of labels: (the real images', those G draws) or
        only G's, for a class-conditional model)."""
        model = self.model
        feed = {model.z: z}
        if lr_scale is not None:
            feed[model.lr_scale] = lr_scale
        if batch is not None:
            feed[model.inputs] = batch
        if labels is not None:
            real, fake = labels if isinstance(labels, tuple) else (None, labels)
            feed[model.fake_labels] = fake
            if batch is not None:
                feed[model.real_labels] = real
        return feed

    def run_train_step(self, batch, z, lr_scale=1.0, labels=None):
        """One D step then one G step on a batch; returns {'d_loss', 'd_loss_real', 'd_loss_fake', 'g_loss'}.

        --train_step literal runs them as the framework does, two session.run calls with G recomputed;
        fused runs the same updates in one call. lr_scale multiplies both learning rates. labels, for a
        conditional model: (the real images' labels, the labels G draws for z), each [B].
        """
        model = self.model
        # Always the same fetches: TensorFlow optimises the graph again for each new set of them.
        d_losses = {"d_loss": model.d_loss, "d_loss_real": model.d_loss_real, "d_loss_fake": model.d_loss_fake}
        g_feed = self._feed(z, lr_scale, labels=None if labels is None else labels[1])
        return model.step.run(self.sess, d_losses, self._feed(z, lr_scale, batch, labels), g_feed)

    def run_d_step(self, batch, z, lr_scale=1.0, labels=None):
        """One D update alone on a batch, as run_train_step's D update (--d_steps runs d_steps - 1 of them before
        each run_train_step)."""
        self.model.step.run_d(self.sess, self._feed(z, lr_scale, batch, labels))

    def gamma_values(self):
        """{'gamma_g': float, ...} of the attention blocks' scales there are (GAN: {})."""
        return {name: float(value[0]) for name, value in self.sess.run(self.model.attention_scales).items()}

    def _averaged(self, weights):
        """The AveragedGenerator of weights, its standing statistics refreshed; None for 'raw'."""
        if weights == "raw":
            return None
        if weights not in self.model.averages:
            raise UserError(f"--weights {weights}: this model keeps {', '.join(self.config.weights)}")
        averaged = self.model.averages[weights]
        averaged.refresh(self.sess)
        return averaged

    def generate_from(self, z, weights="raw", labels=None):
        """Images of G (weights 'raw'), of the averaged G ('ema') or of a power-function average ('ema_sigma<width>')
        in inference mode for each row of z (and of labels, for a conditional model), uint8."""
        averaged = self._averaged(weights)
        images = averaged.images if averaged else self.model.fake_images
        chunks = []
        for s in range(0, len(z), SAMPLE_CHUNK):
            feed = self._feed(z[s:s + SAMPLE_CHUNK], labels=None if labels is None else labels[s:s + SAMPLE_CHUNK])
            chunks.append(to_uint8(self.sess.run(images, feed)))
        return np.concatenate(chunks)

    def attention_values(self, weights, count, real_images):
        """{(net, side): (images uint8, beta, scale, share)} of each attention block: G's (those of weights) on
        count images of the sample streams, D's on real_images (uint8)."""
        model = self.model
        averaged = self._averaged(weights)
        blocks = {**model.attention_blocks, **(model.averaged_attention_blocks[weights] if averaged else {})}
        found = {}
        for (net, side), fetches in blocks.items():
            if net == "generator":
                fake = averaged.images if averaged else model.fake_images
                feed = self._feed(streams.sample_z(self.config, count), labels=streams.sample_labels(self.config, count))
                images, beta, scale, share = self.sess.run([fake, *fetches], feed)
                found[(net, side)] = (to_uint8(images), beta, scale, share)
            else:
                images = real_images[:count]
                found[(net, side)] = (images, *self.sess.run(list(fetches), {model.inputs: images / np.float32(255)}))
        return found

    def weights_values(self, weights):
        """{name under G's scope: array} of the G of weights (its standing batch-norm statistics as its moving
        averages, for an average)."""
        averaged = self._averaged(weights)
        scope = averaged.scope if averaged else "generator"
        return self.sess.run({v.op.name[len(scope) + 1:]: v for v in tf1.global_variables(scope + "/")})


def build(model_config, sess, images=None, labels=None, placement=None, sampler=False, discriminator=False):
    """The Runner of a model of model_config with its graph built in sess's graph: the training graph, or with
    sampler only what sampling and measuring run (G and the averaged G, and D with discriminator). The one way
    main, compare and bench make a model; images and labels: what it trains on; placement: its devices
    (parallel.replicas.Placement), one device when None."""
    model = model_class(model_config.gan_type)(model_config, placement or ONE_DEVICE)
    with sess.graph.as_default():
        if sampler:
            model.build_sampler(discriminator)
        else:
            model.build_model()
    return Runner(model, sess, images, labels)
