"""The MNIST classifier whose penultimate features the metrics compare; trained by the project, TF1 style."""
import os

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from errors import UserError
from interrupts import activity, replaced_atomically
from ops import conv2d, linear

tf1 = tf.compat.v1

FEATURE_DIM = 256
BATCH = 128
EPOCHS = 5
LEARNING_RATE = 2e-3  # halved every epoch
MAX_SHIFT = 2  # pixels of random translation while training
SEED = 0


class Classifier:
    """(32)3c1s_R-MP2-(64)3c1s_R-MP2-FC256_R-FC10; the FC256 activations are the features.

    It has its own graph and session, beside any GAN's.
    """

    def __init__(self, dataset, checkpoint_dir):
        self.folder = os.path.join(checkpoint_dir, f"classifier_{dataset}")
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf1.set_random_seed(SEED)
            self.images = tf1.placeholder(tf.float32, [None, 28, 28, 1], name="images")
            self.labels = tf1.placeholder(tf.int64, [None], name="labels")
            with tf1.variable_scope("classifier"):
                net = tf.nn.relu(conv2d(self.images, 32, 3, 3, 1, 1, name="c_conv1"))
                net = tf.nn.max_pool2d(net, 2, 2, "SAME")  # [B, 14, 14, 32]
                net = tf.nn.relu(conv2d(net, 64, 3, 3, 1, 1, name="c_conv2"))
                net = tf.nn.max_pool2d(net, 2, 2, "SAME")  # [B, 7, 7, 64]
                net = tf.reshape(net, [-1, 7 * 7 * 64])  # [B, 3136]
                self.features = tf.nn.relu(linear(net, FEATURE_DIM, scope="c_fc3"))
                logits = linear(self.features, 10, scope="c_fc4")
            self.probs = tf.nn.softmax(logits)
            self.loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.labels,
                                                                                      logits=logits))
            self.learning_rate = tf1.placeholder_with_default(LEARNING_RATE, [], name="learning_rate")
            self.optim = tf1.train.AdamOptimizer(self.learning_rate).minimize(self.loss)
            self.saver = tf1.train.Saver(tf1.global_variables(), max_to_keep=1, save_relative_paths=True)
            self.sess = tf1.Session(graph=self.graph)
            self.sess.run(tf1.global_variables_initializer())

    def load(self):
        """Restore the saved classifier; False if there is none."""
        path = tf.train.latest_checkpoint(self.folder) if os.path.isdir(self.folder) else None
        if path is None:
            return False
        try:
            self.saver.restore(self.sess, path)
        except (tf.errors.OpError, ValueError) as e:
            raise UserError(f"classifier checkpoint {path} cannot be restored ({type(e).__name__}); "
                            f"move {self.folder} away to retrain it") from None
        return True

    def train(self, images, labels, epochs=EPOCHS):
        """Train on uint8 images [N, 28, 28, 1] with labels, then save."""
        rng = np.random.default_rng(SEED)
        for epoch in range(epochs):
            order = rng.permutation(len(images))
            bar = tqdm(range(0, len(images) - BATCH + 1, BATCH), desc=f"classifier epoch {epoch + 1}/{epochs}",
                       unit="batch", mininterval=1.0, dynamic_ncols=True)
            for start in bar:
                idx = order[start:start + BATCH]
                batch = shifted(images[idx], rng) / np.float32(255)
                self.sess.run(self.optim, {self.images: batch, self.labels: labels[idx],
                                           self.learning_rate: LEARNING_RATE * 0.5 ** epoch})
        parent = os.path.dirname(os.path.abspath(self.folder))
        os.makedirs(parent, exist_ok=True)
        with replaced_atomically(self.folder) as tmp:  # a folder is there complete, or not at all
            self.saver.save(self.sess, os.path.join(tmp, "classifier"))

    def features_and_probs(self, images, chunk=1000):
        """(features [N, 256], class probabilities [N, 10]) of uint8 images."""
        outs = [self.sess.run([self.features, self.probs], {self.images: images[s:s + chunk] / np.float32(255)})
                for s in range(0, len(images), chunk)]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

    def accuracy(self, images, labels):
        """Share of images classified as their label."""
        return float((self.features_and_probs(images)[1].argmax(1) == labels).mean())


def shifted(images, rng):
    """The batch translated by up to MAX_SHIFT pixels each way, one shift per batch."""
    dy, dx = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, 2)
    padded = np.pad(images, ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT), (0, 0)))
    return padded[:, MAX_SHIFT + dy:MAX_SHIFT + dy + 28, MAX_SHIFT + dx:MAX_SHIFT + dx + 28]


def trained_classifier(dataset, checkpoint_dir, splits, log=print):
    """The dataset's classifier: loaded if saved, else trained on the train split and saved."""
    classifier = Classifier(dataset, checkpoint_dir)
    if not classifier.load():
        with activity(f"training the {dataset} classifier", "it was not saved, and trains again from the start"):
            # Said inside the activity: a stop right after this line names it.
            log(f"training the {dataset} classifier for the metrics (once; saved in {classifier.folder})")
            classifier.train(*splits["train"])
        accuracy = classifier.accuracy(*splits["t10k"])
        log(f"classifier test accuracy: {accuracy:.4f}")
    return classifier
