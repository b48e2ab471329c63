"""The MNIST classifier whose penultimate features the metrics compare; trained by the project, TF1 style."""
import json
import os
import shutil

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from common.errors import UserError
from config import NUM_CLASSES
from common.interrupts import activity, deferred
from ops import conv2d, linear
from evaluation.yardstick import split_description, split_indices

tf1 = tf.compat.v1

FEATURE_DIM = 256
BATCH = 128
EPOCHS = 5
LEARNING_RATE = 2e-3  # halved every epoch
MAX_SHIFT = 2  # pixels of random translation while training
SEED = 0
SPLIT_FILE = "split.json"  # beside the weights: which images the classifier learned from


class Classifier:
    """(32)3c1s_R-MP2-(64)3c1s_R-MP2-FC256_R-FC10; the FC256 activations are the features.

    It has its own graph and session, beside any GAN's.
    """

    def __init__(self, dataset, checkpoint_dir=None):
        """checkpoint_dir None: a classifier that is trained and used, never saved (the classification accuracy
        score's)."""
        self.folder = os.path.join(checkpoint_dir, f"classifier_{dataset}") if checkpoint_dir else None
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
                logits = linear(self.features, NUM_CLASSES, scope="c_fc4")
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

    def saved_split(self):
        """The split.json saved with the weights, or None (a classifier of the old yardstick has none)."""
        try:
            with open(os.path.join(self.folder, SPLIT_FILE)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def train(self, images, labels, split):
        """Train on uint8 images [N, 28, 28, 1] with labels, then save the weights and split (a dict) together.

        The folder is swapped whole: a stop leaves the old classifier or the new one, never a mixture.
        """
        self.fit(images, labels)
        self.save(split)

    def fit(self, images, labels):
        """Train on uint8 images [N, 28, 28, 1] with their labels, EPOCHS epochs with random shifts."""
        rng = np.random.default_rng(SEED)
        batch_size = min(BATCH, len(images))  # a tiny dataset still trains
        for epoch in range(EPOCHS):
            order = rng.permutation(len(images))
            bar = tqdm(range(0, len(images) - batch_size + 1, batch_size), unit="batch", mininterval=1.0,
                       desc=f"classifier epoch {epoch + 1}/{EPOCHS}", dynamic_ncols=True)
            for start in bar:
                idx = order[start:start + batch_size]
                batch = shifted(images[idx], rng) / np.float32(255)
                self.sess.run(self.optim, {self.images: batch, self.labels: labels[idx],
                                           self.learning_rate: LEARNING_RATE * 0.5 ** epoch})

    def save(self, split):
        """Save the weights and the split they were trained under into the folder, swapped in whole."""
        parent, name = os.path.split(os.path.abspath(self.folder))
        os.makedirs(parent, exist_ok=True)
        new, old = os.path.join(parent, f".partial-{os.getpid()}-{name}"), os.path.join(parent, f".old-{name}")
        try:
            self.saver.save(self.sess, os.path.join(new, "classifier"))
            with open(os.path.join(new, SPLIT_FILE), "w") as f:
                json.dump(split, f, indent=2)
            with deferred():
                shutil.rmtree(old, ignore_errors=True)
                if os.path.exists(self.folder):
                    os.replace(self.folder, old)
                os.replace(new, self.folder)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(new, ignore_errors=True)

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


def trained_classifier(dataset, checkpoint_dir, images, labels, log=print):
    """The dataset's classifier: loaded if saved under this split, else trained on the split's classifier
    images and saved. images, labels: all of the dataset's, in the order G trains on them."""
    classifier = Classifier(dataset, checkpoint_dir)
    split = split_description(len(images))
    saved = classifier.saved_split() if classifier.load() else None
    if saved != split:
        if os.path.isdir(classifier.folder):
            why = ("it learned from the 60,000 training images and was measured against the test set (the old "
                   "yardstick)" if saved is None else f"it was trained under another split ({saved})")
            log(f"retraining the {dataset} classifier in {classifier.folder}: {why}")
        with activity(f"training the {dataset} classifier", "it was not saved, and trains again from the start (one "
                      "saved before is kept as it was)"):
            # Said inside the activity: a stop right after this line names it.
            log(f"training the {dataset} classifier for the metrics on {split['classifier_images']} images "
                f"(once; saved in {classifier.folder})")
            train = split_indices(len(images))["classifier"]
            classifier.train(images[train], labels[train], split)
    return classifier
